// Binding interface functions to a maker's .NET assembly by reflection.
//
// Convention ("interface" profile): a public type has methods named like the interface functions (or as mapped by
// the manifest's `symbols`), with the interface's parameters in order, `size` parameters left out:
//   hexIn/strIn -> string (or StringBuilder); int -> int; int16 -> short (int accepted); capacity -> int;
//   hexOut/keyOut/strOut -> out/ref string, or StringBuilder; intOut/int16Out -> out/ref int|short|long;
//   intArrayOut -> int[] (the bridge passes an array of `capacity` entries) or out int[]; return int (short/long accepted).
// Methods may be static, or instance methods of a type with a public parameterless constructor.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text;

namespace MeterHub.TancyBridge
{
    /// <summary>Inputs by parameter name (string, long or null); outputs are written into `outputs` by name.</summary>
    internal delegate int BoundCall(Dictionary<string, object> inputs, Dictionary<string, object> outputs, int capacity);

    internal sealed class Bound
    {
        public readonly string ExportName;
        public readonly BoundCall Call;
        public Bound(string exportName, BoundCall call) { ExportName = exportName; Call = call; }
    }

    internal sealed class BridgeException : Exception
    {
        public readonly string Code;
        public readonly string Param;
        public BridgeException(string code, string message, string param = null) : base(message) { Code = code; Param = param; }
    }

    internal static class AssemblyLoader
    {
        static string vendorDir;

        public static Assembly Load(string path)
        {
            string full = Path.GetFullPath(path);
            if (!File.Exists(full)) throw new BridgeException("LIBRARY_LOAD_FAILED", "file not found: " + full);
            vendorDir = Path.GetDirectoryName(full);
            // The maker's assembly may reference further assemblies shipped next to it.
            AppDomain.CurrentDomain.AssemblyResolve += (s, e) =>
            {
                string name = new AssemblyName(e.Name).Name;
                foreach (string ext in new[] { ".dll", ".exe" })
                {
                    string candidate = Path.Combine(vendorDir, name + ext);
                    if (File.Exists(candidate)) return Assembly.LoadFrom(candidate);
                }
                return null;
            };
            NativeSearchPath.Add(vendorDir);
            try
            {
                return Assembly.LoadFrom(full);
            }
            catch (BadImageFormatException e)
            {
                throw new BridgeException("LIBRARY_LOAD_FAILED",
                    "not a .NET assembly this runtime can load (a native DLL belongs to the Node host; or a 32/64-bit or .NET version mismatch): " + e.Message);
            }
            catch (Exception e)
            {
                throw new BridgeException("LIBRARY_LOAD_FAILED", e.GetType().Name + ": " + e.Message);
            }
        }

        public static Type[] ExportedTypes(Assembly a)
        {
            try { return a.GetExportedTypes(); }
            catch (ReflectionTypeLoadException e) { return e.Types.Where(t => t != null && t.IsPublic).ToArray(); }
        }
    }

    /// <summary>On Windows, lets the vendor's own native DLLs (reader drivers) be found next to its assembly.</summary>
    internal static class NativeSearchPath
    {
        [System.Runtime.InteropServices.DllImport("kernel32.dll", CharSet = System.Runtime.InteropServices.CharSet.Unicode, SetLastError = true)]
        static extern bool SetDllDirectory(string path);

        public static void Add(string dir)
        {
            if (Environment.OSVersion.Platform != PlatformID.Win32NT) return;
            try { SetDllDirectory(dir); } catch (Exception) { /* best effort */ }
        }
    }

    internal static class ConventionBinding
    {
        static bool IsIntType(Type t) { return t == typeof(int) || t == typeof(short) || t == typeof(long); }

        /// <summary>How many interface functions `t` offers by convention (used to pick the type).</summary>
        public static int Score(Type t, IDictionary<string, string> symbols)
        {
            int n = 0;
            foreach (var f in InterfaceTable.All) if (FindMethod(t, f, ExportName(f, symbols)) != null) n++;
            return n;
        }

        public static string ExportName(Function f, IDictionary<string, string> symbols)
        {
            string s;
            return symbols != null && symbols.TryGetValue(f.Name, out s) ? s : f.Name;
        }

        static MethodInfo FindMethod(Type t, Function f, string name)
        {
            foreach (var m in t.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.Instance))
            {
                if (m.Name != name || m.IsGenericMethodDefinition) continue;
                if (!m.IsStatic && (t.IsAbstract || t.GetConstructor(Type.EmptyTypes) == null)) continue;
                if (Compatible(m, f)) return m;
            }
            return null;
        }

        static Param[] Visible(Function f) { return f.Params.Where(p => p.Kind != Kind.Size).ToArray(); }

        static bool Compatible(MethodInfo m, Function f)
        {
            if (!IsIntType(m.ReturnType)) return false;
            var ps = m.GetParameters();
            var specs = Visible(f);
            if (ps.Length != specs.Length) return false;
            for (int i = 0; i < ps.Length; i++)
            {
                Type t = ps[i].ParameterType;
                bool byRef = t.IsByRef;
                Type e = byRef ? t.GetElementType() : t;
                string k = specs[i].Kind;
                bool ok;
                if (Kind.IsStringIn(k)) ok = !byRef && (e == typeof(string) || e == typeof(StringBuilder));
                else if (k == Kind.Int || k == Kind.Int16 || k == Kind.Capacity) ok = !byRef && IsIntType(e);
                else if (Kind.IsStringOut(k)) ok = (byRef && e == typeof(string)) || e == typeof(StringBuilder);
                else if (k == Kind.IntOut || k == Kind.Int16Out) ok = byRef && IsIntType(e);
                else if (k == Kind.IntArrayOut) ok = e == typeof(int[]);
                else ok = false;
                if (!ok) return false;
            }
            return true;
        }

        public static Dictionary<string, Bound> Bind(Type t, IDictionary<string, string> symbols)
        {
            var bound = new Dictionary<string, Bound>();
            object instance = null;
            foreach (var f in InterfaceTable.All)
            {
                string name = ExportName(f, symbols);
                MethodInfo m = FindMethod(t, f, name);
                if (m == null) continue;
                if (!m.IsStatic && instance == null) instance = Activator.CreateInstance(t);
                bound[f.Name] = new Bound(t.FullName + "." + name, Invoker(m, m.IsStatic ? null : instance, f));
            }
            return bound;
        }

        static BoundCall Invoker(MethodInfo m, object target, Function f)
        {
            var ps = m.GetParameters();
            var specs = Visible(f);
            return (inputs, outputs, capacity) =>
            {
                var args = new object[ps.Length];
                for (int i = 0; i < ps.Length; i++)
                {
                    Type t = ps[i].ParameterType;
                    Type e = t.IsByRef ? t.GetElementType() : t;
                    string k = specs[i].Kind;
                    string n = specs[i].Name;
                    if (Kind.IsStringIn(k))
                    {
                        string s = inputs[n] as string;
                        args[i] = e == typeof(StringBuilder) ? (s == null ? null : new StringBuilder(s)) : (object)s;
                    }
                    else if (k == Kind.Int || k == Kind.Int16) args[i] = Convert.ChangeType(inputs[n], e);
                    else if (k == Kind.Capacity) args[i] = Convert.ChangeType((long)capacity, e);
                    else if (Kind.IsStringOut(k)) args[i] = e == typeof(StringBuilder) ? new StringBuilder(InterfaceTable.DefaultSize(k)) : null;
                    else if (k == Kind.IntOut || k == Kind.Int16Out) args[i] = Convert.ChangeType(0L, e);
                    else if (k == Kind.IntArrayOut) args[i] = t.IsByRef ? null : outputs[n];
                }
                object rc = m.Invoke(target, args); // TargetInvocationException is handled by the caller
                for (int i = 0; i < ps.Length; i++)
                {
                    string k = specs[i].Kind;
                    string n = specs[i].Name;
                    if (Kind.IsStringOut(k)) outputs[n] = args[i] == null ? "" : args[i].ToString();
                    else if (k == Kind.IntOut || k == Kind.Int16Out) outputs[n] = Convert.ToInt64(args[i]);
                    else if (k == Kind.IntArrayOut && ps[i].ParameterType.IsByRef) outputs[n] = args[i] as int[] ?? new int[0];
                }
                return Convert.ToInt32(rc);
            };
        }
    }
}
