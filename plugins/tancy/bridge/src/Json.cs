// A small JSON reader/writer: the protocol's JSON is simple, and .NET Framework 4.x has no JSON parser in the
// base class library that every counter PC is guaranteed to have (System.Web.Extensions is not in the client profile).
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace MeterHub.TancyBridge
{
    /// <summary>A JSON object that keeps insertion order (frames read better that way).</summary>
    internal sealed class JObj : List<KeyValuePair<string, object>>
    {
        public JObj Set(string key, object value)
        {
            for (int i = 0; i < Count; i++)
                if (this[i].Key == key) { this[i] = new KeyValuePair<string, object>(key, value); return this; }
            Add(new KeyValuePair<string, object>(key, value));
            return this;
        }

        public bool TryGet(string key, out object value)
        {
            foreach (var kv in this) if (kv.Key == key) { value = kv.Value; return true; }
            value = null;
            return false;
        }

        public object Get(string key) { object v; return TryGet(key, out v) ? v : null; }
        public bool Has(string key) { object v; return TryGet(key, out v); }
    }

    internal sealed class JsonException : Exception
    {
        public JsonException(string m) : base(m) { }
    }

    internal static class Json
    {
        // ---- writing: every non-ASCII character escaped, so a frame is pure ASCII whatever the code page ----

        public static string Write(object v)
        {
            var sb = new StringBuilder();
            WriteValue(sb, v);
            return sb.ToString();
        }

        static void WriteValue(StringBuilder sb, object v)
        {
            if (v == null) { sb.Append("null"); return; }
            if (v is string) { WriteString(sb, (string)v); return; }
            if (v is bool) { sb.Append((bool)v ? "true" : "false"); return; }
            if (v is int || v is long || v is short || v is byte || v is uint) { sb.Append(Convert.ToInt64(v).ToString(CultureInfo.InvariantCulture)); return; }
            if (v is double || v is float)
            {
                double d = Convert.ToDouble(v);
                if (double.IsNaN(d) || double.IsInfinity(d)) sb.Append("null");
                else sb.Append(d.ToString("R", CultureInfo.InvariantCulture));
                return;
            }
            var obj = v as JObj;
            if (obj != null)
            {
                sb.Append('{');
                bool first = true;
                foreach (var kv in obj)
                {
                    if (!first) sb.Append(',');
                    first = false;
                    WriteString(sb, kv.Key);
                    sb.Append(':');
                    WriteValue(sb, kv.Value);
                }
                sb.Append('}');
                return;
            }
            var dict = v as IDictionary<string, string>;
            if (dict != null)
            {
                var o = new JObj();
                foreach (var kv in dict) o.Set(kv.Key, kv.Value);
                WriteValue(sb, o);
                return;
            }
            var list = v as System.Collections.IEnumerable;
            if (list != null)
            {
                sb.Append('[');
                bool first = true;
                foreach (object item in list)
                {
                    if (!first) sb.Append(',');
                    first = false;
                    WriteValue(sb, item);
                }
                sb.Append(']');
                return;
            }
            WriteString(sb, v.ToString());
        }

        static void WriteString(StringBuilder sb, string s)
        {
            sb.Append('"');
            foreach (char c in s)
            {
                switch (c)
                {
                    case '"': sb.Append("\\\""); break;
                    case '\\': sb.Append("\\\\"); break;
                    case '\n': sb.Append("\\n"); break;
                    case '\r': sb.Append("\\r"); break;
                    case '\t': sb.Append("\\t"); break;
                    default:
                        if (c < 0x20 || c >= 0x7f) sb.Append("\\u").Append(((int)c).ToString("x4"));
                        else sb.Append(c);
                        break;
                }
            }
            sb.Append('"');
        }

        // ---- reading: objects -> JObj, arrays -> List<object>, numbers -> long or double ----

        public static object Parse(string text)
        {
            int i = 0;
            object v = ParseValue(text, ref i, 0);
            SkipWs(text, ref i);
            if (i != text.Length) throw new JsonException("trailing characters");
            return v;
        }

        static void SkipWs(string s, ref int i)
        {
            while (i < s.Length && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) i++;
        }

        static object ParseValue(string s, ref int i, int depth)
        {
            if (depth > 64) throw new JsonException("nested too deeply");
            SkipWs(s, ref i);
            if (i >= s.Length) throw new JsonException("unexpected end");
            char c = s[i];
            if (c == '{')
            {
                i++;
                var o = new JObj();
                SkipWs(s, ref i);
                if (i < s.Length && s[i] == '}') { i++; return o; }
                for (;;)
                {
                    SkipWs(s, ref i);
                    if (i >= s.Length || s[i] != '"') throw new JsonException("expected a key");
                    string key = ParseString(s, ref i);
                    SkipWs(s, ref i);
                    if (i >= s.Length || s[i] != ':') throw new JsonException("expected ':'");
                    i++;
                    o.Set(key, ParseValue(s, ref i, depth + 1));
                    SkipWs(s, ref i);
                    if (i < s.Length && s[i] == ',') { i++; continue; }
                    if (i < s.Length && s[i] == '}') { i++; return o; }
                    throw new JsonException("expected ',' or '}'");
                }
            }
            if (c == '[')
            {
                i++;
                var list = new List<object>();
                SkipWs(s, ref i);
                if (i < s.Length && s[i] == ']') { i++; return list; }
                for (;;)
                {
                    list.Add(ParseValue(s, ref i, depth + 1));
                    SkipWs(s, ref i);
                    if (i < s.Length && s[i] == ',') { i++; continue; }
                    if (i < s.Length && s[i] == ']') { i++; return list; }
                    throw new JsonException("expected ',' or ']'");
                }
            }
            if (c == '"') return ParseString(s, ref i);
            if (Lit(s, ref i, "true")) return true;
            if (Lit(s, ref i, "false")) return false;
            if (Lit(s, ref i, "null")) return null;
            return ParseNumber(s, ref i);
        }

        static bool Lit(string s, ref int i, string lit)
        {
            if (string.CompareOrdinal(s, i, lit, 0, lit.Length) != 0) return false;
            i += lit.Length;
            return true;
        }

        static string ParseString(string s, ref int i)
        {
            i++; // opening quote
            var sb = new StringBuilder();
            while (i < s.Length)
            {
                char c = s[i++];
                if (c == '"') return sb.ToString();
                if (c != '\\') { sb.Append(c); continue; }
                if (i >= s.Length) break;
                char e = s[i++];
                switch (e)
                {
                    case '"': sb.Append('"'); break;
                    case '\\': sb.Append('\\'); break;
                    case '/': sb.Append('/'); break;
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'n': sb.Append('\n'); break;
                    case 'r': sb.Append('\r'); break;
                    case 't': sb.Append('\t'); break;
                    case 'u':
                        if (i + 4 > s.Length) throw new JsonException("bad \\u escape");
                        int code;
                        if (!int.TryParse(s.Substring(i, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out code)) throw new JsonException("bad \\u escape");
                        sb.Append((char)code);
                        i += 4;
                        break;
                    default: throw new JsonException("bad escape");
                }
            }
            throw new JsonException("unterminated string");
        }

        static object ParseNumber(string s, ref int i)
        {
            int start = i;
            if (i < s.Length && s[i] == '-') i++;
            while (i < s.Length && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == 'e' || s[i] == 'E' || s[i] == '+' || s[i] == '-')) i++;
            string t = s.Substring(start, i - start);
            if (t.Length == 0 || t == "-") throw new JsonException("unexpected character");
            long l;
            if (t.IndexOfAny(new[] { '.', 'e', 'E' }) < 0 && long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out l)) return l;
            double d;
            if (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out d)) return d;
            throw new JsonException("bad number");
        }
    }
}
