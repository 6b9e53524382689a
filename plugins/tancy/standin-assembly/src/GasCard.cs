// STAND-IN / 替身 for Tancy's C# library: the seed's CPU-card functions (com, kh, ql, cs, klx) as static .NET
// methods, behaving like sdk/reference/gascard_ref.c built with layouts/tancy.h (same checks, same order, same
// return codes, same card file). Not Tancy's code and not Tancy's card format.
using System;
using System.Reflection;

[assembly: AssemblyTitle("Tancy.StandIn — stand-in / 替身 for Tancy's C# card library (NOT Tancy's library)")]
[assembly: AssemblyDescription("MeterHub stand-in (替身): simulated CPU card + PSAM in files under METERHUB_SIM_CPU_DIR")]
[assembly: AssemblyCompany("MeterHub (stand-in / 替身)")]
[assembly: AssemblyProduct("MeterHub Tancy stand-in / 替身")]
[assembly: AssemblyVersion("1.0.0.0")]

namespace MeterHub.StandIn.Tancy
{
    /// <summary>The interface-shaped API the bridge binds by convention (docs/deploy/tancy-bridge.md).</summary>
    public static class GasCard
    {
        public const string StandInLabel = "stand-in library / 替身库 (MeterHub Tancy.StandIn, not Tancy's library)";

        public static int WriteNewCpuCard(short com, string kh, int ql, short cs, short klx)
        {
            int rc = CardImage.KhCheck(kh);
            if (rc != Rc.Ok) return rc;
            if ((rc = CardImage.ValuesCheck(ql, cs, klx)) != Rc.Ok) return rc;
            SimReader s;
            if ((rc = SimReader.Ready(com, true, out s)) != Rc.Ok) return rc;
            if (CardImage.Identify(s.Img) != -1 || !CardImage.IsBlank(s.Img)) return Rc.NotNewCard;
            s.Img = CardImage.NewUser(kh, ql, cs, klx);
            return s.Save(com);
        }

        public static int ReadCpuCard(short com, out string kh, out int ql, out short cs, out short klx)
        {
            kh = ""; ql = 0; cs = 0; klx = 0;
            SimReader s;
            int rc = SimReader.Ready(com, true, out s);
            if (rc != Rc.Ok) return rc;
            CardImage.User v;
            if ((rc = CardImage.LoadUser(s.Img, out v)) != Rc.Ok) return rc;
            kh = v.Kh; ql = v.Ql; cs = (short)v.Cs; klx = (short)v.Klx;
            return Rc.Ok;
        }

        public static int BuyCpuCard(short com, string kh, int ql, short cs)
        {
            int rc = CardImage.KhCheck(kh);
            if (rc != Rc.Ok) return rc;
            if ((rc = CardImage.ValuesCheck(ql, cs, 1)) != Rc.Ok) return rc;
            SimReader s;
            if ((rc = SimReader.Ready(com, true, out s)) != Rc.Ok) return rc;
            CardImage.User v;
            if ((rc = CardImage.LoadUser(s.Img, out v)) != Rc.Ok) return rc;
            if (v.Kh != kh) return Rc.CardNoMismatch;
            CardImage.Sell(s.Img, ql, cs);
            return s.Save(com);
        }

        public static int FormatCpuCard(short com, string kh)
        {
            SimReader s;
            int rc = SimReader.Ready(com, true, out s);
            if (rc != Rc.Ok) return rc;
            int id = CardImage.Identify(s.Img);
            if (id == -1) return CardImage.IsBlank(s.Img) ? Rc.NewOrBackwards : Rc.NotThisSystem;
            if (id == 0)
            { // a user card is erased only by its owner's number; tool cards ignore kh
                if ((rc = CardImage.KhCheck(kh)) != Rc.Ok) return rc;
                if (CardImage.UserHash(kh) != CardImage.StoredHash(s.Img)) return Rc.CardNoMismatch;
            }
            s.Img = CardImage.Blank();
            return s.Save(com);
        }

        public static int CheckCpuCard(short com)
        {
            SimReader s;
            int rc = SimReader.Ready(com, false, out s);
            if (rc != Rc.Ok) return rc;
            return CardImage.Identify(s.Img);
        }

        /// <summary>The interface version ("1.0", the conformance kit requires 1.x); the stand-in label is in the texts and the log.</summary>
        public static int GasCardInterfaceVersion(out string version)
        {
            Console.Error.WriteLine("[Tancy.StandIn] " + StandInLabel);
            version = "1.0";
            return Rc.Ok;
        }

        public static int GasCardErrorText(int code, out string text)
        {
            text = ErrorTexts.For(code);
            if (text != null) return Rc.Ok;
            text = "未知返回码 / unknown return code";
            return Rc.BadParam;
        }

        public static int ListToolCards(string cardType, out string kinds)
        {
            kinds = "";
            if (cardType == null) return Rc.BadParam;
            if (cardType == "cpu" || cardType == "CPU") { kinds = CardImage.ToolKinds; return Rc.Ok; }
            if (cardType == "4442" || cardType == "102") return Rc.Unsupported;
            return Rc.BadParam;
        }

        public static int MakeToolCpu(short com, string kind, string parameters)
        {
            if (kind == null) return Rc.BadParam;
            if (CardImage.ToolCode(kind) == 0) return Rc.Unsupported;
            SimReader s;
            int rc = SimReader.Ready(com, true, out s);
            if (rc != Rc.Ok) return rc;
            if ((rc = CardImage.BuildTool(s.Img, kind, parameters)) != Rc.Ok) return rc;
            return s.Save(com);
        }

        public static int ReadUsageCpu(short com, out int written, out int status, out int lastCode, int[] months, int[] usage, int capacity, out int count)
        {
            written = status = lastCode = count = 0;
            if (capacity < 0) return Rc.BadParam;
            if (capacity > 0 && (months == null || usage == null)) return Rc.BadParam;
            SimReader s;
            int rc = SimReader.Ready(com, true, out s);
            if (rc != Rc.Ok) return rc;
            return CardImage.Usage(s.Img, out written, out status, out lastCode, months, usage, capacity, out count);
        }
    }

    internal static class ErrorTexts
    {
        public static string For(int code)
        {
            switch (code)
            {
                case 0: return "成功 / OK";
                case 1: return "本厂家工具卡（判卡） / this maker's tool card (Check)";
                case -1: return "非注册用户；判卡时：非本厂家卡 / not a registered user; from Check: not this maker's card";
                case -2: return "端口初始化失败 / reader port initialisation failed";
                case -4: return "无卡 / no card in the reader";
                case -6: return "卡损坏（卡上数据超出范围） / card damaged (a value on the card is out of range)";
                case -7: return "读卡错误 / card read error";
                case -8: return "非用户卡 / not a user card";
                case -10: return "写卡错误 / card write error";
                case -13: return "可能是新卡或插反 / probably a new (blank) card or inserted backwards";
                case -14: return "非本系统卡 / not a card of this system (another maker's card?)";
                case -15: return "非新卡 / not a new card";
                case -16: return "卡号不符 / card number does not match";
                case -31: return "参数错误（卡号、气量、次数、表类型、工具卡参数） / bad parameter (kh, ql, cs, klx, tool-card params)";
                case -34: return "不支持的功能、卡型或工具卡类型 / unsupported function, card type or tool-card kind";
                case -35: return "卡数据校验和错误 / card data checksum error";
                case -100: return "未检测到PSAM卡（替身库） / PSAM not present in the reader (stand-in library)";
                default: return null;
            }
        }
    }
}
