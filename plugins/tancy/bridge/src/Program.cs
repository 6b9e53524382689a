// MeterHub.TancyBridge: a driver host (docs/driver-protocol.md) for makers that ship only a .NET assembly (天信 Tancy).
// To the supervisor it is just another host: ready event, one JSON request per stdin line, one framed response per
// request on stdout, strictly one call at a time, exit on $shutdown or stdin EOF.
//
//   MeterHub.TancyBridge.exe [--profile auto|interface|tancy-ic] [--type Namespace.Class] [--chdir-library]
//                            [--set name=value ...]          (tancy-ic options: baud, comBase, rcMap, ...)
//   MeterHub.TancyBridge.exe --describe                      (the interface table as JSON, for tests)
//   MeterHub.TancyBridge.exe --diagnose <assembly> [--com N] [profile options]   (check reader, card and PSAM)
//   MeterHub.TancyBridge.exe --standin <assembly> <insert-blank|remove|psam-on|psam-off|fault:<name>|get-data> [--com N]
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text;

[assembly: AssemblyTitle("MeterHub.TancyBridge — .NET driver host for maker assemblies (Tancy)")]
[assembly: AssemblyProduct("MeterHub")]
[assembly: AssemblyVersion("1.0.0.0")]

namespace MeterHub.TancyBridge
{
    internal sealed class Options
    {
        public string Profile = "auto";
        public string TypeName;
        public bool ChdirLibrary;
        public readonly TancyIcOptions TancyIc = new TancyIcOptions();
        public string Mode = "host";
        public string ModeArg, ModeArg2;
        public short Com;

        public static Options Parse(string[] args)
        {
            var o = new Options();
            for (int i = 0; i < args.Length; i++)
            {
                string a = args[i];
                Func<string> next = () =>
                {
                    if (i + 1 >= args.Length) throw new ArgumentException(a + " needs a value");
                    return args[++i];
                };
                switch (a)
                {
                    case "--profile": o.Profile = next(); break;
                    case "--type": o.TypeName = next(); break;
                    case "--chdir-library": o.ChdirLibrary = true; break;
                    case "--set":
                        {
                            string kv = next();
                            int eq = kv.IndexOf('=');
                            if (eq <= 0) throw new ArgumentException("--set takes name=value");
                            o.TancyIc.Set(kv.Substring(0, eq), kv.Substring(eq + 1));
                            break;
                        }
                    case "--com": o.Com = short.Parse(next()); break;
                    case "--describe": o.Mode = "describe"; break;
                    case "--diagnose": o.Mode = "diagnose"; o.ModeArg = next(); break;
                    case "--standin": o.Mode = "standin"; o.ModeArg = next(); o.ModeArg2 = next(); break;
                    default: throw new ArgumentException("unknown argument " + a);
                }
            }
            if (o.Profile != "auto" && o.Profile != "interface" && o.Profile != "tancy-ic") throw new ArgumentException("--profile must be auto, interface or tancy-ic");
            return o;
        }
    }

    internal sealed class Library
    {
        public Dictionary<string, Bound> Functions;
        public string Profile, TypeName;

        public static Library Load(string path, IDictionary<string, string> symbols, Options o)
        {
            Assembly asm = AssemblyLoader.Load(path);
            if (o.ChdirLibrary) Directory.SetCurrentDirectory(Path.GetDirectoryName(Path.GetFullPath(path)));
            Type[] types = AssemblyLoader.ExportedTypes(asm);
            var lib = new Library();
            if (o.Profile != "tancy-ic")
            {
                Type t = null;
                if (o.TypeName != null)
                {
                    t = asm.GetType(o.TypeName, false);
                    if (t == null) throw new BridgeException("LIBRARY_LOAD_FAILED", "type " + o.TypeName + " not found in " + Path.GetFileName(path));
                }
                else
                {
                    t = types.Select(x => new { x, n = ConventionBinding.Score(x, symbols) }).Where(x => x.n > 0)
                        .OrderByDescending(x => x.n).ThenBy(x => x.x.FullName, StringComparer.Ordinal).Select(x => x.x).FirstOrDefault();
                }
                if (t != null || o.Profile == "interface")
                {
                    lib.Profile = "interface";
                    lib.TypeName = t == null ? null : t.FullName;
                    lib.Functions = t == null ? new Dictionary<string, Bound>() : ConventionBinding.Bind(t, symbols);
                    return lib;
                }
            }
            Type tancy = o.TypeName != null ? asm.GetType(o.TypeName, false) : TancyIcProfile.Detect(types);
            if (tancy == null)
            {
                if (o.Profile == "tancy-ic") throw new BridgeException("LIBRARY_LOAD_FAILED", "no public type with the Tancy_IC functions (OpenCard, InitCard, GetUserParam, GetCardGas, GetBuyTimes, SaleGas) in " + Path.GetFileName(path));
                Log("no public type offers interface functions or the Tancy_IC functions; every function is missing");
                lib.Profile = "interface";
                lib.Functions = new Dictionary<string, Bound>();
                return lib;
            }
            lib.Profile = "tancy-ic";
            lib.TypeName = tancy.FullName;
            lib.Functions = TancyIcProfile.Bind(tancy, o.TancyIc);
            return lib;
        }

        public static void Log(string s) { Console.Error.WriteLine("[tancy-bridge] " + s); }
    }

    internal static class Program
    {
        const string Marker = "\u001eMH1 ";
        const int ArraySentinel = 0x5a5a5a5a;
        const int MaxBufferOverride = 1024 * 1024, MaxCapacity = 4096;

        static Stream stdout;
        static Library lib;
        static long calls;
        static Options opts;

        static int Main(string[] args)
        {
            try { opts = Options.Parse(args); }
            catch (Exception e) { Console.Error.WriteLine("MeterHub.TancyBridge: " + e.Message); return 2; }
            if (opts.Mode == "describe") { Console.WriteLine(Json.Write(InterfaceTable.Describe())); return 0; }
            if (opts.Mode == "diagnose") return Diagnose.Run(opts);
            if (opts.Mode == "standin") return Diagnose.StandIn(opts);
            return Serve();
        }

        static int Serve()
        {
            // Frames go to the real stdout; anything the vendor writes through Console goes to stderr instead.
            stdout = Console.OpenStandardOutput();
            Console.SetOut(Console.Error);
            var stdin = new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false));

            Send(new JObj().Set("event", "ready").Set("pid", Process.GetCurrentProcess().Id).Set("runtime", Runtime())
                .Set("arch", IntPtr.Size == 4 ? "ia32" : "x64").Set("platform", PlatformName()).Set("protocol", 1));
            string line;
            while ((line = stdin.ReadLine()) != null) Handle(line);
            return Exit(0);
        }

        static int Exit(int code)
        {
            try { stdout.Flush(); } catch (Exception) { }
            Environment.Exit(code); // also ends threads a vendor library may have left running
            return code;
        }

        public static string Runtime()
        {
            Type mono = Type.GetType("Mono.Runtime");
            if (mono != null)
            {
                var m = mono.GetMethod("GetDisplayName", BindingFlags.NonPublic | BindingFlags.Static);
                string v = m == null ? "" : Convert.ToString(m.Invoke(null, null));
                return "mono " + v.Split(' ')[0];
            }
            return ".NET Framework " + Environment.Version;
        }

        static string PlatformName()
        {
            if (Environment.OSVersion.Platform == PlatformID.Win32NT) return "win32";
            return Directory.Exists("/System/Library/CoreServices") ? "darwin" : "linux";
        }

        static void Send(JObj frame)
        {
            byte[] b = Encoding.ASCII.GetBytes(Marker + Json.Write(frame) + "\n");
            stdout.Write(b, 0, b.Length); // one write per frame
            stdout.Flush();
        }

        static void Fail(object id, string code, string message, string param = null)
        {
            var err = new JObj().Set("code", code).Set("message", message);
            if (param != null) err.Set("param", param);
            Send(new JObj().Set("id", id).Set("error", err));
        }

        static void Handle(string line)
        {
            string text = line.StartsWith(Marker) ? line.Substring(Marker.Length) : line;
            if (text.Trim().Length == 0) return;
            JObj req;
            try { req = Json.Parse(text) as JObj; }
            catch (JsonException) { Fail(null, "BAD_FRAME", "request is not JSON"); return; }
            object id = req == null ? null : req.Get("id");
            string method = req == null ? null : req.Get("method") as string;
            if (req == null || !(id is long || id is double || id is string) || method == null)
            {
                Fail(null, "BAD_FRAME", "request needs id (number|string) and method (string)");
                return;
            }
            JObj ps = req.Get("params") as JObj ?? new JObj();
            try
            {
                switch (method)
                {
                    case "$ping":
                        Send(new JObj().Set("id", id).Set("result", new JObj().Set("pong", true).Set("pid", Process.GetCurrentProcess().Id).Set("calls", calls).Set("loaded", lib != null)));
                        return;
                    case "$shutdown":
                        Send(new JObj().Set("id", id).Set("result", new JObj().Set("ok", true)));
                        Exit(0);
                        return;
                    case "$load":
                        Send(new JObj().Set("id", id).Set("result", LoadLibrary(ps)));
                        return;
                    default:
                        if (method.StartsWith("$")) throw new BridgeException("UNKNOWN_METHOD", "unknown method " + method);
                        if (lib == null) throw new BridgeException("NOT_LOADED", "no library loaded; send $load first");
                        calls++;
                        Send(new JObj().Set("id", id).Set("result", Call(method, ps)));
                        return;
                }
            }
            catch (BridgeException e) { Fail(id, e.Code, e.Message, e.Param); }
            catch (Exception e)
            {
                Library.Log("internal error in " + method + ": " + e);
                Fail(id, "INTERNAL", "internal error in the .NET bridge: " + e.GetType().Name);
            }
        }

        static JObj LoadLibrary(JObj ps)
        {
            if (lib != null) throw new BridgeException("ALREADY_LOADED", "a library is already loaded; start a new host");
            string path = ps.Get("path") as string;
            if (string.IsNullOrEmpty(path)) throw new BridgeException("BAD_PARAMS", "path must be a non-empty string", "path");
            var symbols = new Dictionary<string, string>();
            var sym = ps.Get("symbols") as JObj;
            if (sym != null) foreach (var kv in sym) if (kv.Value is string) symbols[kv.Key] = (string)kv.Value;
            lib = Library.Load(path, symbols, opts);
            Library.Log("loaded " + Path.GetFileName(path) + " (profile " + lib.Profile + ", type " + (lib.TypeName ?? "-") + ", " + lib.Functions.Count + " functions) on " + Runtime());
            var resolved = new JObj();
            foreach (var f in InterfaceTable.All) if (lib.Functions.ContainsKey(f.Name)) resolved.Set(f.Name, lib.Functions[f.Name].ExportName);
            return new JObj()
                .Set("functions", InterfaceTable.All.Where(f => lib.Functions.ContainsKey(f.Name)).Select(f => f.Name).ToList())
                .Set("missing", InterfaceTable.All.Where(f => !lib.Functions.ContainsKey(f.Name)).Select(f => f.Name).ToList())
                .Set("symbols", resolved)
                .Set("profile", lib.Profile);
        }

        static long IntParam(string name, string kind, object v)
        {
            long lo = kind == Kind.Int16 ? short.MinValue : int.MinValue, hi = kind == Kind.Int16 ? short.MaxValue : int.MaxValue;
            string c = kind == Kind.Int16 ? "int16_t" : "int32_t";
            long r;
            if (v is long) r = (long)v;
            else if (v is double && Math.Floor((double)v) == (double)v && Math.Abs((double)v) < 1e15) r = (long)(double)v;
            else throw new BridgeException("BAD_PARAMS", "parameter " + name + " must be an integer in [" + lo + ", " + hi + "] (C " + c + ")", name);
            if (r < lo || r > hi) throw new BridgeException("BAD_PARAMS", "parameter " + name + " must be an integer in [" + lo + ", " + hi + "] (C " + c + ")", name);
            return r;
        }

        static int? BufferOverride(JObj ps, string name)
        {
            object o;
            if (!ps.TryGet("$buffers", out o)) return null;
            var b = o as JObj;
            if (b == null) throw new BridgeException("BAD_PARAMS", "$buffers must be an object", "$buffers");
            object v;
            if (!b.TryGet(name, out v)) return null;
            if (!(v is long) || (long)v < 1 || (long)v > MaxBufferOverride)
                throw new BridgeException("BAD_PARAMS", "$buffers." + name + " must be an integer in [1, " + MaxBufferOverride + "]", name);
            return (int)(long)v;
        }

        static JObj Call(string method, JObj ps)
        {
            Function f = InterfaceTable.Find(method);
            Bound b;
            if (f == null || !lib.Functions.TryGetValue(method, out b)) throw new BridgeException("FUNCTION_MISSING", "the library does not export " + method);

            var inputs = new Dictionary<string, object>();
            var outputs = new Dictionary<string, object>();
            var sizes = new Dictionary<string, int>();
            int capacity = InterfaceTable.UsageCapacity;
            var capSpec = f.Params.FirstOrDefault(p => p.Kind == Kind.Capacity);
            if (capSpec != null && ps.Has(capSpec.Name)) capacity = (int)IntParam(capSpec.Name, Kind.Int, ps.Get(capSpec.Name));
            int arrayLen = Math.Min(Math.Max(capacity, 0), MaxCapacity);
            foreach (var p in f.Params)
            {
                object v = ps.Get(p.Name);
                if (Kind.IsStringIn(p.Kind))
                {
                    if (v != null && !(v is string)) throw new BridgeException("BAD_PARAMS", "parameter " + p.Name + " must be a string or null", p.Name);
                    inputs[p.Name] = v;
                }
                else if (p.Kind == Kind.Int || p.Kind == Kind.Int16) inputs[p.Name] = IntParam(p.Name, p.Kind, v);
                else if (p.Kind == Kind.Size && v != null) IntParam(p.Name, Kind.Int, v); // validated like the Node host; managed code needs no size
                else if (Kind.IsStringOut(p.Kind)) sizes[p.Name] = BufferOverride(ps, p.Name) ?? InterfaceTable.DefaultSize(p.Kind);
                else if (p.Kind == Kind.IntArrayOut)
                {
                    var a = new int[arrayLen];
                    for (int i = 0; i < a.Length; i++) a[i] = ArraySentinel;
                    outputs[p.Name] = a;
                }
            }
            var preallocated = outputs.ToDictionary(kv => kv.Key, kv => kv.Value);

            var result = new JObj();
            var watch = Stopwatch.StartNew();
            int rc;
            try
            {
                rc = b.Call(inputs, outputs, capacity);
            }
            catch (TargetInvocationException e)
            {
                // A vendor exception is a failed card operation, never a crash of the host.
                Exception inner = e.InnerException ?? e;
                rc = f.Writes ? -10 : -7;
                Library.Log("vendor exception in " + method + " -> rc " + rc + ": " + inner.GetType().FullName + ": " + inner.Message);
                result.Set("$exception", inner.GetType().FullName);
                outputs = preallocated;
            }
            watch.Stop();
            result.Set("rc", rc);

            var outReport = new JObj();
            foreach (var p in f.Params)
            {
                if (Kind.IsStringOut(p.Kind))
                {
                    object v;
                    string s = outputs.TryGetValue(p.Name, out v) && v != null ? v.ToString() : "";
                    result.Set(p.Name, StringOut(f, p, s, sizes[p.Name], outReport));
                }
                else if (p.Kind == Kind.IntOut || p.Kind == Kind.Int16Out)
                {
                    object v;
                    long n = outputs.TryGetValue(p.Name, out v) && v != null ? Convert.ToInt64(v) : 0;
                    result.Set(p.Name, p.Kind == Kind.Int16Out ? (long)(short)n : (long)(int)n);
                }
            }
            var countSpec = f.Params.FirstOrDefault(p => p.Name == "count" && p.Kind == Kind.IntOut);
            foreach (var p in f.Params.Where(x => x.Kind == Kind.IntArrayOut))
            {
                int[] a = outputs[p.Name] as int[] ?? new int[0];
                bool own = ReferenceEquals(a, preallocated[p.Name]);
                long? count = countSpec == null ? (long?)null : Convert.ToInt64(result.Get(countSpec.Name));
                int used = count == null ? arrayLen : (int)Math.Min(Math.Max(count.Value, 0), arrayLen);
                int beyond = 0;
                for (int i = used; i < Math.Min(a.Length, arrayLen); i++) if (a[i] != (own ? ArraySentinel : 0)) beyond++;
                result.Set(p.Name, a.Take(Math.Min(used, a.Length)).Select(x => (long)x).ToList());
                outReport.Set(p.Name, new JObj().Set("capacity", arrayLen).Set("touchedBeyondCount", beyond).Set("overflowEntries", Math.Max(0, a.Length - arrayLen)));
            }
            result.Set("$out", outReport);
            result.Set("$ms", watch.Elapsed.TotalMilliseconds);
            return result;
        }

        /// <summary>
        /// A managed string "written" into a C buffer of `size` bytes: the same report the Node host makes from its guard
        /// bytes. Managed code cannot scribble past a buffer, so only a string longer than the buffer shows as overflow.
        /// </summary>
        static string StringOut(Function f, Param p, string s, int size, JObj report)
        {
            Encoding enc = p.Kind == Kind.StrOut ? (Encoding)new UTF8Encoding(false) : Encoding.GetEncoding("iso-8859-1");
            byte[] bytes = enc.GetBytes(s);
            int nul = Array.IndexOf(bytes, (byte)0);
            int strLen = nul >= 0 ? nul : bytes.Length;
            int written = strLen + 1; // the string and its NUL
            bool terminated = strLen < size;
            int len = terminated ? strLen : size;
            int overflow = Math.Max(0, written - size);
            var r = new JObj().Set("size", size).Set("len", len).Set("terminated", terminated)
                .Set("touchedBytes", terminated ? 0 : overflow).Set("overflowBytes", overflow).Set("writtenBytes", written);
            int? specMax = InterfaceTable.SpecMax(f, p);
            if (specMax != null) r.Set("specMax", specMax.Value).Set("beyondSpecBytes", Math.Max(0, written - (specMax.Value + 1)));
            report.Set(p.Name, r);
            return enc.GetString(bytes, 0, Math.Min(len, bytes.Length));
        }
    }
}
