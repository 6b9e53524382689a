// STAND-IN / 替身 with the SHAPE of Tancy's Tancy_IC API, so the bridge's "tancy-ic" adapter profile can be tested
// without Tancy's library. Function names and parameter lists follow the only public caller we know,
// CardService/Activator/天信/TianSkyXin.cs in DuBin1988/newsellinggas (reference/card-domain.md §4.3):
//   OpenCard(port, baud, meterFlag, userNo, userType, alarmGas, overLimit, inputValue, largeFlowControl), InitCard(port, baud),
//   GetUserParam(...ref ints), GetCardID(port, baud, cardID), GetCardGas(port, baud, ref gas), GetBuyTimes(port, baud, ref n),
//   SaleGas(port, baud, gas, buyTimes), GetVer(verInfo), GetError(code, errInfo).
// The return codes below are OUR invention (positive, like Tancy's older libraries): 0 ok, 3 no card / card reset failed,
// 4 card operation failed or not a Tancy card, 8 not a user card, 98 port, 99 PSAM. Tancy's real codes must be confirmed.
using System.Text;

namespace MeterHub.StandIn.Tancy
{
    public static class TancyIC
    {
        static int Vendor(int rc)
        {
            switch (rc)
            {
                case Rc.Ok: return 0;
                case Rc.NoCard: return 3;
                case Rc.NotUserCard: return 8;
                case Rc.PortInit: return 98;
                case Rc.Psam: return 99;
                default: return 4;
            }
        }

        static short Com(int port) { return port < short.MinValue || port > short.MaxValue ? (short)-1 : (short)port; }

        static int ParseInt(StringBuilder sb, int fallback)
        {
            int v;
            return sb != null && int.TryParse(sb.ToString(), out v) ? v : fallback;
        }

        /// <summary>Opens (issues) a user card on a blank card; userType "20" = industrial, anything else residential.</summary>
        public static int OpenCard(int port, int baud, StringBuilder meterFlag, StringBuilder userNo, StringBuilder userType,
                                   int alarmGas, int overLimit, int inputValue, int largeFlowControl)
        {
            short klx = (short)(userType != null && userType.ToString() == "20" ? 2 : 1);
            return Vendor(GasCard.WriteNewCpuCard(Com(port), userNo == null ? null : userNo.ToString(), 0, 0, klx));
        }

        public static int InitCard(int port, int baud)
        {
            SimReader s;
            int rc = SimReader.Ready(Com(port), true, out s);
            if (rc != Rc.Ok) return Vendor(rc);
            if (CardImage.Identify(s.Img) == -1 && !CardImage.IsBlank(s.Img)) return 4;
            s.Img = CardImage.Blank();
            return Vendor(s.Save(Com(port)));
        }

        public static int GetUserParam(int port, int baud, StringBuilder meterFlag, StringBuilder userNo, StringBuilder userType,
                                       ref int alarmGas, ref int overLimit, ref int inputValue, ref int largeFlowControl)
        {
            string kh; int ql; short cs, klx;
            int rc = GasCard.ReadCpuCard(Com(port), out kh, out ql, out cs, out klx);
            if (rc != Rc.Ok) return Vendor(rc);
            if (meterFlag != null) { meterFlag.Length = 0; meterFlag.Append("0000000000000000"); }
            if (userNo != null) { userNo.Length = 0; userNo.Append(kh); }
            if (userType != null) { userType.Length = 0; userType.Append(klx == 2 ? "20" : "10"); }
            alarmGas = 0; overLimit = 0; inputValue = 0; largeFlowControl = 0;
            return 0;
        }

        public static int GetCardID(int port, int baud, StringBuilder cardID)
        {
            SimReader s;
            int rc = SimReader.Ready(Com(port), true, out s);
            if (rc != Rc.Ok) return Vendor(rc);
            if (CardImage.Identify(s.Img) == -1) return 4;
            if (cardID != null) { cardID.Length = 0; cardID.Append(CardImage.StoredHash(s.Img).ToString("X8")); }
            return 0;
        }

        public static int GetCardGas(int port, int baud, ref int cardGas)
        {
            string kh; int ql; short cs, klx;
            int rc = GasCard.ReadCpuCard(Com(port), out kh, out ql, out cs, out klx);
            if (rc == Rc.Ok) cardGas = ql;
            return Vendor(rc);
        }

        public static int GetBuyTimes(int port, int baud, ref int buyTimes)
        {
            string kh; int ql; short cs, klx;
            int rc = GasCard.ReadCpuCard(Com(port), out kh, out ql, out cs, out klx);
            if (rc == Rc.Ok) buyTimes = cs;
            return Vendor(rc);
        }

        public static int SaleGas(int port, int baud, int gas, int buyTimes)
        {
            string kh; int ql; short cs, klx;
            int rc = GasCard.ReadCpuCard(Com(port), out kh, out ql, out cs, out klx);
            if (rc != Rc.Ok) return Vendor(rc);
            if (buyTimes < 0 || buyTimes > short.MaxValue) return 4;
            return Vendor(GasCard.BuyCpuCard(Com(port), kh, gas, (short)buyTimes));
        }

        public static int GetVer(StringBuilder verInfo)
        {
            if (verInfo != null) { verInfo.Length = 0; verInfo.Append("Tancy_IC-shaped stand-in / 替身 1.0 (MeterHub, not Tancy's library)"); }
            return 0;
        }

        public static int GetError(int ret, StringBuilder errInfo)
        {
            string t;
            switch (ret)
            {
                case 0: t = "成功（替身） / OK (stand-in)"; break;
                case 3: t = "无卡或用户卡复位失败（替身） / no card, or the user card did not reset (stand-in)"; break;
                case 4: t = "用户卡操作失败或非天信卡（替身） / card operation failed or not a Tancy card (stand-in)"; break;
                case 8: t = "非用户卡（替身） / not a user card (stand-in)"; break;
                case 98: t = "串口错误（替身） / serial port error (stand-in)"; break;
                case 99: t = "PSAM卡错误（替身） / PSAM card error (stand-in)"; break;
                default: return 1;
            }
            if (errInfo != null) { errInfo.Length = 0; errInfo.Append(t); }
            return 0;
        }
    }

    /// <summary>
    /// Test helpers for the simulated reader (stand-in only; the same operations as the C stand-in's StandInCpu* exports).
    /// </summary>
    public static class StandInTools
    {
        static int Update(short com, System.Action<SimReader> change)
        {
            SimReader s;
            int rc = SimReader.Load(com, out s);
            if (rc != Rc.Ok && rc != Rc.Read) return rc;
            change(s);
            return s.Save(com);
        }

        /// <summary>Puts a blank CPU card (all FF) in the reader on `com`; PSAM state is kept.</summary>
        public static int InsertBlank(short com) { return Update(com, s => { s.Card = true; s.Img = CardImage.Blank(); }); }

        /// <summary>Puts a card with the given raw image (512 hex) in the reader.</summary>
        public static int InsertData(short com, string data)
        {
            byte[] img = CardImage.FromHex(data, CardImage.Total);
            if (img == null) return Rc.BadData;
            return Update(com, s => { s.Card = true; s.Img = img; });
        }

        public static int Remove(short com) { return Update(com, s => { s.Card = false; s.Img = CardImage.Blank(); }); }

        public static int SetPsam(short com, bool present) { return Update(com, s => { s.Psam = present; }); }

        /// <summary>Makes the next call on `com` misbehave once: throw | failfast | noise | hang ("" clears).</summary>
        public static int SetFault(short com, string fault) { return Update(com, s => { s.Fault = fault; }); }

        public static int GetData(short com, out string data)
        {
            data = "";
            SimReader s;
            int rc = SimReader.Load(com, out s);
            if (rc != Rc.Ok) return rc;
            if (!s.Card) return Rc.NoCard;
            data = CardImage.ToHex(s.Img);
            return Rc.Ok;
        }
    }
}
