// Command-line checks for the counter PC (docs/deploy/tancy-bridge.md §5) and the stand-in's reader helpers.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;

namespace MeterHub.TancyBridge
{
    internal static class Diagnose
    {
        /// <summary>Loads the maker's assembly as the host would and checks the reader, the card and the PSAM.
        /// Exit code: 0 ready (card readable or blank), 3 PSAM missing, 4 no card, 2 reader/port, 1 anything else.</summary>
        public static int Run(Options o)
        {
            Library lib;
            try { lib = Library.Load(o.ModeArg, new Dictionary<string, string>(), o); }
            catch (BridgeException e) { Say("无法加载表厂程序集 / cannot load the maker assembly: " + e.Message); return 1; }
            Say("运行时 / runtime: " + Program.Runtime() + ", " + (IntPtr.Size == 4 ? "32 位 / 32-bit (x86)" : "64 位 / 64-bit"));
            Say("适配方式 / profile: " + lib.Profile + ", 类型 / type: " + (lib.TypeName ?? "-"));
            Say("已绑定 / bound: " + string.Join(", ", lib.Functions.Keys.ToArray()));
            int check = Invoke(lib, "CheckCpuCard", o.Com, null);
            int read = check == -100 || check == -4 || check == -2 ? check : Invoke(lib, "ReadCpuCard", o.Com, "kh");
            int rc = read == -100 || check == -100 ? -100 : check == -4 ? -4 : check == -2 ? -2 : read;
            Say("判卡 / CheckCpuCard(com " + o.Com + ") = " + check + "; 读卡 / ReadCpuCard = " + read);
            switch (rc)
            {
                case 0: Say("结果：读卡器、PSAM 和卡均正常 / result: reader, PSAM and card OK"); return 0;
                case -13: case -1: Say("结果：读卡器与 PSAM 正常，卡为空白卡或非天信卡 / result: reader and PSAM OK; the card is blank or not a Tancy card"); return 0;
                case -100: Say("结果：PSAM 未插入或无法使用 / result: PSAM missing or unusable — 请把天信 PSAM 卡插入读卡器的 SAM 卡座 / insert Tancy's PSAM into the reader's SAM slot"); return 3;
                case -4: Say("结果：读卡器中无卡 / result: no card in the reader"); return 4;
                case -2: Say("结果：读卡器端口无法打开（端口号、波特率、驱动）/ result: the reader port cannot be opened (port, baud rate, driver)"); return 2;
                default: Say("结果：返回码 " + rc + " / result: return code " + rc); return 1;
            }
        }

        static int Invoke(Library lib, string fn, short com, string unused)
        {
            Bound b;
            if (!lib.Functions.TryGetValue(fn, out b)) { Say(fn + " 未提供 / not offered"); return -34; }
            var outputs = new Dictionary<string, object>();
            try { return b.Call(new Dictionary<string, object> { { "com", (long)com } }, outputs, 0); }
            catch (TargetInvocationException e)
            {
                Say(fn + " 抛出异常 / threw: " + (e.InnerException ?? e).GetType().Name + ": " + (e.InnerException ?? e).Message);
                return -7;
            }
        }

        static void Say(string s) { Console.WriteLine(s); }

        /// <summary>Drives the stand-in's simulated reader (MeterHub.StandIn.Tancy.StandInTools); stand-in assemblies only.</summary>
        public static int StandIn(Options o)
        {
            Type tools;
            try { tools = AssemblyLoader.Load(o.ModeArg).GetType("MeterHub.StandIn.Tancy.StandInTools", false); }
            catch (BridgeException e) { Console.Error.WriteLine(e.Message); return 1; }
            if (tools == null) { Console.Error.WriteLine("not a MeterHub stand-in assembly (no StandInTools) / 不是替身程序集"); return 1; }
            string op = o.ModeArg2;
            object[] args;
            string method;
            if (op == "insert-blank") { method = "InsertBlank"; args = new object[] { o.Com }; }
            else if (op == "remove") { method = "Remove"; args = new object[] { o.Com }; }
            else if (op == "psam-on" || op == "psam-off") { method = "SetPsam"; args = new object[] { o.Com, op == "psam-on" }; }
            else if (op.StartsWith("fault:")) { method = "SetFault"; args = new object[] { o.Com, op.Substring(6) }; }
            else if (op == "get-data") { method = "GetData"; args = new object[] { o.Com, null }; }
            else { Console.Error.WriteLine("unknown stand-in operation " + op); return 1; }
            int rc = Convert.ToInt32(tools.GetMethod(method).Invoke(null, args));
            Console.WriteLine(op == "get-data" && rc == 0 ? (string)args[1] : "rc=" + rc);
            return rc == 0 ? 0 : 1;
        }
    }
}
