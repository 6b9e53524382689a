// The unified card interface as data, mirrored from core/driver/interface-functions.ts (the source of truth).
// `MeterHub.TancyBridge.exe --describe` prints this table; plugins/tancy/bridge/tancy-bridge.test.ts compares it with
// the TypeScript table so the two cannot drift apart unnoticed.
using System.Collections.Generic;
using System.Linq;

namespace MeterHub.TancyBridge
{
    internal static class Kind
    {
        public const string HexIn = "hexIn", StrIn = "strIn", HexOut = "hexOut", KeyOut = "keyOut", StrOut = "strOut",
            Int = "int", Int16 = "int16", IntOut = "intOut", Int16Out = "int16Out", IntArrayOut = "intArrayOut",
            Capacity = "capacity", Size = "size";

        public static bool IsStringOut(string k) { return k == HexOut || k == KeyOut || k == StrOut; }
        public static bool IsOut(string k) { return IsStringOut(k) || k == IntOut || k == Int16Out || k == IntArrayOut; }
        public static bool IsStringIn(string k) { return k == HexIn || k == StrIn; }
    }

    internal sealed class Param
    {
        public readonly string Name, Kind;
        public Param(string name, string kind) { Name = name; Kind = kind; }
    }

    internal sealed class Function
    {
        public readonly string Name, CardType;
        public readonly Param[] Params;
        public Function(string name, string cardType, params Param[] ps) { Name = name; CardType = cardType; Params = ps; }

        /// <summary>Writes a card (a vendor exception here is reported as a write error, −10, else as a read error, −7).</summary>
        public bool Writes
        {
            get { return Name.StartsWith("WriteNew") || Name.StartsWith("Buy") || Name.StartsWith("Format") || Name.StartsWith("MakeTool"); }
        }
    }

    internal static class InterfaceTable
    {
        public const int DataBuf = 4096, KeyBuf = 64, TextBuf = 1024, UsageCapacity = 24;

        static Param P(string n, string k) { return new Param(n, k); }

        static IEnumerable<Function> MemoryCore(string t)
        {
            yield return new Function("WriteNew" + t + "Card", t, P("kh", Kind.StrIn), P("ql", Kind.Int), P("cs", Kind.Int16), P("klx", Kind.Int16), P("data", Kind.HexOut), P("oldKey", Kind.KeyOut), P("newKey", Kind.KeyOut));
            yield return new Function("Read" + t + "Card", t, P("data", Kind.HexIn), P("kh", Kind.KeyOut), P("ql", Kind.IntOut), P("cs", Kind.Int16Out), P("klx", Kind.Int16Out));
            yield return new Function("Buy" + t + "Card", t, P("source", Kind.HexIn), P("kh", Kind.StrIn), P("ql", Kind.Int), P("cs", Kind.Int16), P("dest", Kind.HexOut), P("oldKey", Kind.KeyOut), P("newKey", Kind.KeyOut));
            yield return new Function("Format" + t + "Card", t, P("source", Kind.HexIn), P("oldKey", Kind.KeyOut));
            yield return t == "4442"
                ? new Function("Check4442Card", t, P("source", Kind.HexIn))
                : new Function("Check102Card", t, P("source", Kind.HexIn), P("oldKey", Kind.KeyOut));
        }

        static Param[] Usage(Param first)
        {
            return new[] { first, P("written", Kind.IntOut), P("status", Kind.IntOut), P("lastCode", Kind.IntOut),
                P("months", Kind.IntArrayOut), P("usage", Kind.IntArrayOut), P("capacity", Kind.Capacity), P("count", Kind.IntOut) };
        }

        static Function MakeToolMemory(string t)
        {
            return new Function("MakeTool" + t, t, P("kind", Kind.StrIn), P("params", Kind.StrIn), P("source", Kind.HexIn), P("data", Kind.HexOut),
                P("dataSize", Kind.Size), P("oldKey", Kind.KeyOut), P("newKey", Kind.KeyOut), P("keySize", Kind.Size));
        }

        public static readonly Function[] All = BuildAll();

        static Function[] BuildAll()
        {
            var list = new List<Function>();
            list.AddRange(MemoryCore("4442"));
            list.AddRange(MemoryCore("102"));
            list.Add(new Function("WriteNewCpuCard", "cpu", P("com", Kind.Int16), P("kh", Kind.StrIn), P("ql", Kind.Int), P("cs", Kind.Int16), P("klx", Kind.Int16)));
            list.Add(new Function("ReadCpuCard", "cpu", P("com", Kind.Int16), P("kh", Kind.KeyOut), P("ql", Kind.IntOut), P("cs", Kind.Int16Out), P("klx", Kind.Int16Out)));
            list.Add(new Function("BuyCpuCard", "cpu", P("com", Kind.Int16), P("kh", Kind.StrIn), P("ql", Kind.Int), P("cs", Kind.Int16)));
            list.Add(new Function("FormatCpuCard", "cpu", P("com", Kind.Int16), P("kh", Kind.StrIn)));
            list.Add(new Function("CheckCpuCard", "cpu", P("com", Kind.Int16)));
            list.Add(new Function("GasCardInterfaceVersion", null, P("out", Kind.StrOut), P("outSize", Kind.Size)));
            list.Add(new Function("GasCardErrorText", null, P("code", Kind.Int), P("out", Kind.StrOut), P("outSize", Kind.Size)));
            list.Add(new Function("ListToolCards", null, P("cardType", Kind.StrIn), P("out", Kind.StrOut), P("outSize", Kind.Size)));
            list.Add(MakeToolMemory("4442"));
            list.Add(MakeToolMemory("102"));
            list.Add(new Function("MakeToolCpu", "cpu", P("com", Kind.Int16), P("kind", Kind.StrIn), P("params", Kind.StrIn)));
            list.Add(new Function("ReadUsage4442", "4442", Usage(P("data", Kind.HexIn))));
            list.Add(new Function("ReadUsage102", "102", Usage(P("data", Kind.HexIn))));
            list.Add(new Function("ReadUsageCpu", "cpu", Usage(P("com", Kind.Int16))));
            return list.ToArray();
        }

        public static Function Find(string name) { return All.FirstOrDefault(f => f.Name == name); }

        /// <summary>Longest string the spec allows in an output (card data, keys, kh), as specMaxLength() in TypeScript.</summary>
        public static int? SpecMax(Function f, Param p)
        {
            if (p.Kind == Kind.HexOut && f.CardType == "4442") return 512;
            if (p.Kind == Kind.HexOut && f.CardType == "102") return 300;
            if (p.Kind != Kind.KeyOut) return null;
            if (p.Name == "kh") return 32;
            if (f.CardType == "4442") return 6;
            if (f.CardType == "102") return 4 + 1 + 12 + 1 + 8;
            return null;
        }

        public static int DefaultSize(string kind)
        {
            if (kind == Kind.HexOut) return DataBuf;
            if (kind == Kind.KeyOut) return KeyBuf;
            return TextBuf;
        }

        public static JObj Describe()
        {
            var fns = new List<object>();
            foreach (var f in All)
            {
                var ps = new List<object>();
                foreach (var p in f.Params) ps.Add(new JObj().Set("name", p.Name).Set("kind", p.Kind));
                fns.Add(new JObj().Set("name", f.Name).Set("params", ps));
            }
            return new JObj().Set("functions", fns);
        }
    }
}
