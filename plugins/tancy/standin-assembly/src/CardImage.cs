// STAND-IN / 替身: MeterHub's own card layout for the Tancy CPU-card simulation, NOT Tancy's real format.
// Byte-for-byte the layout of sdk/reference/layouts/tancy.h as compiled into sdk/reference/gascard_ref.c, so the
// C stand-in (libgascard_tancy.so) and this assembly read and write the same simulated card.
using System;
using System.Text;

namespace MeterHub.StandIn.Tancy
{
    internal static class Rc
    {
        public const int Ok = 0, NotOurs = -1, PortInit = -2, NoCard = -4, CardDamaged = -6, Read = -7, NotUserCard = -8,
            Write = -10, NewOrBackwards = -13, NotThisSystem = -14, NotNewCard = -15, CardNoMismatch = -16,
            BadParam = -31, BadData = -32, Unsupported = -34, Checksum = -35, Psam = -100;
    }

    internal static class CardImage
    {
        public const int Total = 256;
        // Offsets of GC_MAP_CPU in layouts/tancy.h.
        const int Mark = 0x10, Kind = 0x13, IdHash = 0x14, IdChk = 0x18, Kh = 0x20, Ql = 0x40, Cs = 0x44, Klx = 0x46,
            Par = 0x48, Sum = 0x54, WbFlag = 0x60, WbStatus = 0x61, WbLast = 0x63, WbMonths = 0x64;
        const int KhLen = 32, ParLen = 12, WbMonthCount = 12, WbEntry = 5;
        const uint Salt = 0x54581234u;
        const byte WbFlagValue = 0x58;
        const byte KindUser = 0x01;
        static readonly byte[] MarkBytes = { 0x54, 0x58, 0x9C };

        public const string ToolKinds = "CLEAR,VALVE_OPEN,VALVE_CLOSE,CHECK,TRANSFER";
        static readonly string[] ToolNames = { "CLEAR", "CHECK", "SETUP", "VALVE_OPEN", "VALVE_CLOSE", "TRANSFER", "CLOCK", "REKEY" };

        public static byte[] Blank()
        {
            var img = new byte[Total];
            for (int i = 0; i < Total; i++) img[i] = 0xFF;
            return img;
        }

        /// <summary>Tool code (0x81..) of a kind this maker makes, else 0.</summary>
        public static int ToolCode(string name)
        {
            if (name == null || name.Length == 0 || name.Length > 32) return 0;
            if (Array.IndexOf(ToolKinds.Split(','), name) < 0) return 0;
            int i = Array.IndexOf(ToolNames, name);
            return i < 0 ? 0 : 0x81 + i;
        }

        static string ToolName(int code)
        {
            int i = code - 0x81;
            return i >= 0 && i < ToolNames.Length ? ToolNames[i] : null;
        }

        static byte Crc8(byte acc, byte[] p, int off, int n)
        {
            for (int i = 0; i < n; i++)
            {
                acc ^= p[off + i];
                for (int b = 0; b < 8; b++) acc = (byte)((acc & 0x80) != 0 ? ((acc << 1) ^ 0x07) : (acc << 1));
            }
            return acc;
        }

        static uint Fnv1a(string s, uint h)
        {
            foreach (byte c in Encoding.UTF8.GetBytes(s))
            {
                h ^= c;
                unchecked { h *= 16777619u; }
            }
            return h;
        }

        public static uint UserHash(string kh) { return Fnv1a(kh, 2166136261u); }
        static uint ToolHash(int code) { return Fnv1a(ToolName(code) ?? "", Fnv1a("TOOL:", 2166136261u)); }

        static void PutU32(byte[] p, int off, uint v) { p[off] = (byte)(v >> 24); p[off + 1] = (byte)(v >> 16); p[off + 2] = (byte)(v >> 8); p[off + 3] = (byte)v; }
        static uint GetU32(byte[] p, int off) { return ((uint)p[off] << 24) | ((uint)p[off + 1] << 16) | ((uint)p[off + 2] << 8) | p[off + 3]; }
        static void PutU16(byte[] p, int off, int v) { p[off] = (byte)(v >> 8); p[off + 1] = (byte)v; }
        static int GetU16(byte[] p, int off) { return (p[off] << 8) | p[off + 1]; }

        public static uint StoredHash(byte[] img) { return GetU32(img, IdHash); }

        static byte IdCheck(byte[] img)
        {
            byte acc = (byte)((Salt >> 8) & 0xFF);
            acc = Crc8(acc, img, Mark, 3);
            acc = Crc8(acc, img, Kind, 1);
            acc = Crc8(acc, img, IdHash, 4);
            return acc;
        }

        static byte RecordSum(byte[] img)
        {
            byte acc = (byte)(Salt & 0xFF);
            acc = Crc8(acc, img, Mark, 3);
            acc = Crc8(acc, img, Kind, 1);
            acc = Crc8(acc, img, IdHash, 4);
            acc = Crc8(acc, img, Kh, KhLen);
            acc = Crc8(acc, img, Ql, 4);
            acc = Crc8(acc, img, Cs, 2);
            acc = Crc8(acc, img, Klx, 1);
            acc = Crc8(acc, img, Par, ParLen);
            return acc;
        }

        static void Seal(byte[] img)
        {
            img[IdChk] = IdCheck(img);
            img[Sum] = RecordSum(img);
        }

        /// <summary>0 user card, 1 tool card, -1 not ours.</summary>
        public static int Identify(byte[] img)
        {
            for (int i = 0; i < 3; i++) if (img[Mark + i] != MarkBytes[i]) return -1;
            int kind = img[Kind];
            if (kind != KindUser && ToolCode(ToolName(kind)) == 0) return -1;
            if (img[IdChk] != IdCheck(img)) return -1;
            return kind == KindUser ? 0 : 1;
        }

        public static bool IsBlank(byte[] img)
        {
            bool ff = true, zero = true;
            foreach (byte b in img) { if (b != 0xFF) ff = false; if (b != 0x00) zero = false; }
            return ff || zero;
        }

        public static int KhCheck(string kh)
        {
            if (kh == null || kh.Length < 1 || kh.Length > 32) return Rc.BadParam;
            foreach (char c in kh) if (c < '0' || c > '9') return Rc.BadParam;
            return Rc.Ok;
        }

        public static int ValuesCheck(int ql, int cs, int klx)
        {
            if (ql < 0 || ql > 99999999) return Rc.BadParam;
            if (cs < 0 || cs > 32767) return Rc.BadParam;
            if (klx != 1 && klx != 2) return Rc.BadParam;
            return Rc.Ok;
        }

        static void PutKh(byte[] img, string kh)
        {
            for (int i = 0; i < KhLen; i++) img[Kh + i] = 0;
            for (int i = 0; i < kh.Length; i++) img[Kh + i] = (byte)kh[i];
        }

        static string GetKh(byte[] img)
        {
            var sb = new StringBuilder();
            bool ended = false;
            for (int i = 0; i < KhLen; i++)
            {
                byte b = img[Kh + i];
                if (ended) { if (b != 0) return null; continue; }
                if (b == 0) { ended = true; continue; }
                if (b < '0' || b > '9') return null;
                sb.Append((char)b);
            }
            return sb.Length >= 1 ? sb.ToString() : null;
        }

        public struct User { public string Kh; public int Ql; public int Cs; public int Klx; }

        public static int LoadUser(byte[] img, out User v)
        {
            v = new User();
            int id = Identify(img);
            if (id == -1) return IsBlank(img) ? Rc.NewOrBackwards : Rc.NotThisSystem;
            if (id == 1) return Rc.NotUserCard;
            if (img[Sum] != RecordSum(img)) return Rc.Checksum;
            v.Kh = GetKh(img);
            if (v.Kh == null) return Rc.CardDamaged;
            if (UserHash(v.Kh) != StoredHash(img)) return Rc.Checksum;
            uint ql = GetU32(img, Ql);
            if (ql > 99999999u) return Rc.CardDamaged;
            v.Ql = (int)ql;
            v.Cs = GetU16(img, Cs);
            if (v.Cs > 32767) return Rc.CardDamaged;
            v.Klx = img[Klx];
            if (v.Klx != 1 && v.Klx != 2) return Rc.CardDamaged;
            return Rc.Ok;
        }

        static void WbReset(byte[] img)
        {
            img[WbFlag] = 0;
            PutU16(img, WbStatus, 0);
            img[WbLast] = 0;
            for (int i = 0; i < WbMonthCount * WbEntry; i++) img[WbMonths + i] = 0;
        }

        public static byte[] NewUser(string kh, int ql, int cs, int klx)
        {
            var img = Blank();
            img[Kind] = KindUser;
            Array.Copy(MarkBytes, 0, img, Mark, 3);
            PutU32(img, IdHash, UserHash(kh));
            PutKh(img, kh);
            PutU32(img, Ql, (uint)ql);
            PutU16(img, Cs, cs);
            img[Klx] = (byte)klx;
            for (int i = 0; i < ParLen; i++) img[Par + i] = 0;
            WbReset(img);
            Seal(img);
            return img;
        }

        public static void Sell(byte[] img, int ql, int cs)
        {
            PutU32(img, Ql, (uint)ql);
            PutU16(img, Cs, cs);
            img[WbFlag] = 0; // sold again: the next write-back is the meter's
            Seal(img);
        }

        /// <summary>Tool params "name=value;..." for this maker's kinds (only TRANSFER takes one: cardNo).</summary>
        static int ParseParams(int code, string p, out string cardNo)
        {
            cardNo = null;
            p = p ?? "";
            if (p.Length > 256) return Rc.BadParam;
            bool seenCardNo = false;
            foreach (string seg in p.Split(';'))
            {
                if (seg.Length == 0) continue;
                int eq = seg.IndexOf('=');
                if (eq < 0) return Rc.BadParam;
                string name = seg.Substring(0, eq), value = seg.Substring(eq + 1);
                if (name.Length == 0 || name.Length >= 32 || value.Length == 0 || value.Length >= 40) return Rc.BadParam;
                foreach (char c in value) if (c < '0' || c > '9') return Rc.BadParam;
                if (code == 0x86 && name == "cardNo")
                {
                    if (KhCheck(value) != Rc.Ok || seenCardNo) return Rc.BadParam;
                    seenCardNo = true;
                    cardNo = value;
                }
                else return Rc.BadParam;
            }
            if (code == 0x86 && !seenCardNo) return Rc.BadParam;
            return Rc.Ok;
        }

        public static int BuildTool(byte[] img, string kind, string parameters)
        {
            int code = ToolCode(kind);
            if (code == 0) return Rc.Unsupported;
            string cardNo;
            int rc = ParseParams(code, parameters, out cardNo);
            if (rc != Rc.Ok) return rc;
            if (Identify(img) == -1 && !IsBlank(img)) return Rc.NotThisSystem;
            for (int i = 0; i < Total; i++) img[i] = 0xFF;
            Array.Copy(MarkBytes, 0, img, Mark, 3);
            img[Kind] = (byte)code;
            PutU32(img, IdHash, ToolHash(code));
            if (cardNo != null) PutKh(img, cardNo);
            else for (int i = 0; i < KhLen; i++) img[Kh + i] = 0;
            PutU32(img, Ql, 0);
            PutU16(img, Cs, 0);
            img[Klx] = 0;
            for (int i = 0; i < ParLen; i++) img[Par + i] = 0;
            WbReset(img);
            Seal(img);
            return Rc.Ok;
        }

        static int Bcd2(byte b) { return ((b >> 4) > 9 || (b & 15) > 9) ? -1 : (b >> 4) * 10 + (b & 15); }

        public static int Usage(byte[] img, out int written, out int status, out int lastCode, int[] months, int[] usage, int capacity, out int count)
        {
            written = status = lastCode = count = 0;
            User v;
            int rc = LoadUser(img, out v);
            if (rc != Rc.Ok) return rc;
            written = img[WbFlag] == WbFlagValue ? 1 : 0;
            status = GetU16(img, WbStatus);
            lastCode = img[WbLast];
            int n = 0;
            for (int i = 0; i < WbMonthCount && n < capacity; i++)
            {
                int e = WbMonths + WbEntry * i;
                if ((img[e] == 0 && img[e + 1] == 0) || (img[e] == 0xFF && img[e + 1] == 0xFF)) break;
                int yy = Bcd2(img[e]), mm = Bcd2(img[e + 1]);
                if (yy < 0 || mm < 1 || mm > 12) return Rc.CardDamaged;
                months[n] = (2000 + yy) * 100 + mm;
                usage[n] = (img[e + 2] << 16) | (img[e + 3] << 8) | img[e + 4];
                n++;
            }
            count = n;
            return Rc.Ok;
        }

        public static string ToHex(byte[] img)
        {
            var sb = new StringBuilder(img.Length * 2);
            foreach (byte b in img) sb.Append(b.ToString("X2"));
            return sb.ToString();
        }

        public static byte[] FromHex(string hex, int bytes)
        {
            if (hex == null || hex.Length != bytes * 2) return null;
            var img = new byte[bytes];
            for (int i = 0; i < bytes; i++)
            {
                int hi = HexVal(hex[2 * i]), lo = HexVal(hex[2 * i + 1]);
                if (hi < 0 || lo < 0) return null;
                img[i] = (byte)(hi * 16 + lo);
            }
            return img;
        }

        static int HexVal(char c)
        {
            if (c >= '0' && c <= '9') return c - '0';
            if (c >= 'a' && c <= 'f') return c - 'a' + 10;
            if (c >= 'A' && c <= 'F') return c - 'A' + 10;
            return -1;
        }
    }
}
