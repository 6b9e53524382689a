// The "tancy-ic" adapter profile: maps the unified CPU-card interface onto a Tancy_IC-style API
// (OpenCard / InitCard / GetUserParam / GetCardID / GetCardGas / GetBuyTimes / SaleGas / GetVer / GetError).
// Names and parameter lists follow the only public caller we know (reference/card-domain.md §4.3:
// CardService/Activator/天信/TianSkyXin.cs in DuBin1988/newsellinggas). Everything marked CONFIRM below is an
// assumption to check against Tancy's delivery; each one is a bridge option, so the mapping can be corrected in the
// manifest without recompiling. docs/deploy/tancy-bridge.md has the table.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Reflection;
using System.Text;

namespace MeterHub.TancyBridge
{
    internal sealed class TancyIcOptions
    {
        public int Baud = 9600;                  // CONFIRM: the reader's baud rate
        public int ComBase = 0;                  // CONFIRM: port = com + ComBase (the interface's com is 0-based)
        public string MeterFlag = "1000000000000001"; // CONFIRM: value seen in TianSkyXin.cs
        public string UserTypeResidential = "10";     // CONFIRM: userType for klx 1 (TianSkyXin.cs uses "10")
        public string UserTypeIndustrial = "20";      // CONFIRM: userType for klx 2 (not seen in any source)
        public int AlarmGas = 50, OverLimit = 5000, InputValue = 0, LargeFlowControl = 99; // CONFIRM: TianSkyXin.cs values
        /// <summary>Tancy return code -> interface code. Unlisted non-zero positive codes n become -(1000 + n).</summary>
        public Dictionary<int, int> RcMap = new Dictionary<int, int>
        {
            { 3, -4 },    // user-card reset failed = no card (old Tancy_Card.DLL: 3 "user card reset")   CONFIRM
            { 98, -2 },   // serial port (天信可调价CPU卡表操作DLL说明.doc: 98 COM)                       CONFIRM
            { 99, -100 }, // PSAM (same document: 99 PSAM)                                               CONFIRM
        };

        public void Set(string name, string value)
        {
            switch (name)
            {
                case "baud": Baud = Int(name, value); break;
                case "comBase": ComBase = Int(name, value); break;
                case "meterFlag": MeterFlag = value; break;
                case "userTypeResidential": UserTypeResidential = value; break;
                case "userTypeIndustrial": UserTypeIndustrial = value; break;
                case "alarmGas": AlarmGas = Int(name, value); break;
                case "overLimit": OverLimit = Int(name, value); break;
                case "inputValue": InputValue = Int(name, value); break;
                case "largeFlowControl": LargeFlowControl = Int(name, value); break;
                case "rcMap":
                    foreach (string pair in value.Split(new[] { ',' }, StringSplitOptions.RemoveEmptyEntries))
                    {
                        string[] kv = pair.Split('=');
                        if (kv.Length != 2) throw new ArgumentException("rcMap entries are vendorCode=interfaceCode");
                        RcMap[Int(name, kv[0])] = Int(name, kv[1]);
                    }
                    break;
                default: throw new ArgumentException("unknown tancy-ic option " + name);
            }
        }

        static int Int(string name, string v)
        {
            int r;
            if (!int.TryParse(v.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out r)) throw new ArgumentException(name + " must be an integer");
            return r;
        }
    }

    internal static class TancyIcProfile
    {
        public const int VendorCodeBase = -1000;
        static readonly string[] Required = { "OpenCard", "InitCard", "GetUserParam", "GetCardGas", "GetBuyTimes", "SaleGas" };

        /// <summary>A public type exposing the Tancy_IC functions, or null.</summary>
        public static Type Detect(IEnumerable<Type> types)
        {
            return types.FirstOrDefault(t => Required.All(n => t.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.Instance).Any(m => m.Name == n)));
        }

        public static Dictionary<string, Bound> Bind(Type t, TancyIcOptions o)
        {
            var api = new Api(t, o);
            var b = new Dictionary<string, Bound>();
            string name = t.FullName;
            b["CheckCpuCard"] = new Bound(name + ".GetCardID", (i, outp, c) => api.Check(Port(i, o)));
            b["ReadCpuCard"] = new Bound(name + ".GetUserParam+GetCardGas+GetBuyTimes", (i, outp, c) => api.Read(Port(i, o), outp));
            b["WriteNewCpuCard"] = new Bound(name + ".OpenCard+SaleGas", (i, outp, c) =>
                api.WriteNew(Port(i, o), i["kh"] as string, Num(i, "ql"), Num(i, "cs"), Num(i, "klx")));
            b["BuyCpuCard"] = new Bound(name + ".SaleGas", (i, outp, c) => api.Buy(Port(i, o), i["kh"] as string, Num(i, "ql"), Num(i, "cs")));
            b["FormatCpuCard"] = new Bound(name + ".InitCard", (i, outp, c) => api.Format(Port(i, o), i["kh"] as string));
            b["GasCardInterfaceVersion"] = new Bound("(bridge)", (i, outp, c) => { outp["out"] = "1.0"; return 0; });
            if (api.Has("GetError"))
                b["GasCardErrorText"] = new Bound(name + ".GetError", (i, outp, c) => api.ErrorText(Num(i, "code"), outp));
            // Tool cards and the meter write-back have no known Tancy_IC function: they stay FUNCTION_MISSING.
            return b;
        }

        static int Num(Dictionary<string, object> i, string n) { return Convert.ToInt32(i[n]); }
        static int Port(Dictionary<string, object> i, TancyIcOptions o) { return Convert.ToInt32(i["com"]) + o.ComBase; }

        /// <summary>Late-bound calls into the vendor type, tolerant of StringBuilder / string / ref string and int / short.</summary>
        sealed class Api
        {
            readonly Type type;
            readonly TancyIcOptions o;
            readonly object instance;

            public Api(Type t, TancyIcOptions options)
            {
                type = t;
                o = options;
                if (t.GetMethods(BindingFlags.Public | BindingFlags.Instance).Any(m => Required.Contains(m.Name)) && !(t.IsAbstract && t.IsSealed))
                    instance = Activator.CreateInstance(t);
                string ver;
                if (Has("GetVer") && Call("GetVer", out ver, new Out()) == 0) Console.Error.WriteLine("[tancy-bridge] Tancy_IC GetVer: " + ver);
            }

            public bool Has(string n) { return type.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.Instance).Any(m => m.Name == n); }

            sealed class Out { public object Value; }

            /// <summary>Calls `name` with logical args (int, string, or Out for outputs); returns the vendor rc.</summary>
            int Call(string name, params object[] logical) { string unused; return Call(name, out unused, logical); }

            int Call(string name, out string firstString, params object[] logical)
            {
                firstString = null;
                var m = type.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.Instance)
                    .FirstOrDefault(x => x.Name == name && x.GetParameters().Length == logical.Length);
                if (m == null) throw new MissingMethodException(type.FullName, name + " with " + logical.Length + " parameters");
                var ps = m.GetParameters();
                var args = new object[ps.Length];
                for (int k = 0; k < ps.Length; k++)
                {
                    Type t = ps[k].ParameterType;
                    Type e = t.IsByRef ? t.GetElementType() : t;
                    object v = logical[k];
                    if (v is Out)
                        args[k] = e == typeof(StringBuilder) ? new StringBuilder(256) : e == typeof(string) ? (object)"" : Convert.ChangeType(0, e);
                    else if (e == typeof(StringBuilder)) args[k] = new StringBuilder(Convert.ToString(v), 256);
                    else args[k] = Convert.ChangeType(v, e, CultureInfo.InvariantCulture);
                }
                object rc = m.Invoke(m.IsStatic ? null : instance, args);
                for (int k = 0; k < ps.Length; k++)
                {
                    var slot = logical[k] as Out;
                    if (slot == null) continue;
                    slot.Value = args[k];
                    if (firstString == null && (args[k] is string || args[k] is StringBuilder)) firstString = args[k].ToString();
                }
                return Convert.ToInt32(rc);
            }

            int Map(int vendorRc)
            {
                if (vendorRc <= 0) return vendorRc;
                int mapped;
                return o.RcMap.TryGetValue(vendorRc, out mapped) ? mapped : VendorCodeBase - vendorRc;
            }

            /// <summary>Reads the user parameters: 0 with kh and klx, else the mapped code.</summary>
            int UserParam(int port, out string kh, out int klx)
            {
                kh = null; klx = 0;
                Out flag = new Out(), user = new Out(), type_ = new Out();
                int rc = Call("GetUserParam", port, o.Baud, flag, user, type_, new Out(), new Out(), new Out(), new Out());
                if (rc != 0) return Map(rc);
                kh = Convert.ToString(user.Value).Trim();
                klx = Convert.ToString(type_.Value).Trim() == o.UserTypeIndustrial ? 2 : 1;
                return 0;
            }

            public int Check(int port)
            {
                // GetCardID succeeds only on a Tancy card (TianSkyXin.cs CheckGasCard). A reader-level problem keeps its
                // code; any other failure means "not this maker's card" (-1). The profile cannot tell tool cards apart.
                int rc = Map(Call("GetCardID", port, o.Baud, new Out()));
                if (rc == 0) return 0;
                return rc == -4 || rc == -2 || rc == -100 ? rc : -1;
            }

            public int Read(int port, Dictionary<string, object> outp)
            {
                string kh; int klx;
                int rc = UserParam(port, out kh, out klx);
                if (rc != 0) return rc;
                Out gas = new Out(), times = new Out();
                if ((rc = Map(Call("GetCardGas", port, o.Baud, gas))) != 0) return rc;
                if ((rc = Map(Call("GetBuyTimes", port, o.Baud, times))) != 0) return rc;
                outp["kh"] = kh;
                outp["ql"] = Convert.ToInt64(gas.Value);
                outp["cs"] = Convert.ToInt64(times.Value);
                outp["klx"] = (long)klx;
                return 0;
            }

            public int WriteNew(int port, string kh, int ql, int cs, int klx)
            {
                // Unlike TianSkyXin.cs this never calls InitCard first: issuing must not wipe a card that still holds a
                // customer's gas. A card that already carries a user number is "not a new card" (-15).
                string existing; int k;
                int rc = UserParam(port, out existing, out k);
                if (rc == 0 && !string.IsNullOrEmpty(existing)) return -15;
                if (rc == -4 || rc == -2 || rc == -100) return rc;
                string userType = klx == 2 ? o.UserTypeIndustrial : o.UserTypeResidential;
                rc = Map(Call("OpenCard", port, o.Baud, o.MeterFlag, kh ?? "", userType, o.AlarmGas, o.OverLimit, o.InputValue, o.LargeFlowControl));
                if (rc != 0) return rc;
                return Map(Call("SaleGas", port, o.Baud, ql, cs));
            }

            public int Buy(int port, string kh, int ql, int cs)
            {
                string onCard; int k;
                int rc = UserParam(port, out onCard, out k);
                if (rc != 0) return rc;
                if (onCard != kh) return -16;
                return Map(Call("SaleGas", port, o.Baud, ql, cs)); // refund = SaleGas with gas 0 (TianSkyXin.cs WriteGasCard)
            }

            public int Format(int port, string kh)
            {
                string onCard; int k;
                int rc = UserParam(port, out onCard, out k);
                if (rc == 0 && onCard != kh) return -16;
                if (rc == -4 || rc == -2 || rc == -100) return rc;
                return Map(Call("InitCard", port, o.Baud));
            }

            public int ErrorText(int code, Dictionary<string, object> outp)
            {
                if (code <= VendorCodeBase)
                {
                    int vendor = VendorCodeBase - code;
                    string text;
                    Call("GetError", out text, vendor, new Out());
                    outp["out"] = (string.IsNullOrEmpty(text) ? "" : text + " — ") + "天信库返回码 " + vendor + " / Tancy library code " + vendor;
                    return 0;
                }
                string std = StandardTexts.For(code);
                outp["out"] = std ?? "未知返回码 / unknown return code";
                return std == null ? -31 : 0;
            }
        }
    }

    /// <summary>Texts for the interface's own codes (sdk/include/gascard.h), used where the maker's library has none.</summary>
    internal static class StandardTexts
    {
        public static string For(int code)
        {
            switch (code)
            {
                case 0: return "成功 / OK";
                case -1: return "非注册用户；判卡时：非本厂家卡 / not a registered user; from Check: not this maker's card";
                case -2: return "端口初始化失败 / reader port initialisation failed";
                case -4: return "无卡 / no card in the reader";
                case -6: return "卡损坏 / card damaged";
                case -7: return "读卡错误 / card read error";
                case -8: return "非用户卡 / not a user card";
                case -10: return "写卡错误 / card write error";
                case -13: return "可能是新卡或插反 / probably a new (blank) card or inserted backwards";
                case -15: return "非新卡 / not a new card";
                case -16: return "卡号不符 / card number does not match";
                case -31: return "参数错误 / bad parameter";
                case -100: return "未检测到PSAM卡 / PSAM not present in the reader";
                default: return null;
            }
        }
    }
}
