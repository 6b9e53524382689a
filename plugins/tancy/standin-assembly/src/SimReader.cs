// STAND-IN / 替身: a simulated CPU-card reader with a PSAM slot, one text file per port.
// Same file and format as sdk/reference/gascard_ref.c (sim_load/sim_save), so both stand-ins share the card:
//   <METERHUB_SIM_CPU_DIR or build/sim-cpu>/com<N>.card = "card=0|1\npsam=0|1\ndata=<512 hex>\n"
// A missing file is an empty reader with its PSAM in. This assembly also honours an optional "fault=<name>"
// line (throw | failfast | noise | hang), consumed by the next call on that port so tests can make the
// "vendor" misbehave once; the C stand-in ignores that line.
using System;
using System.IO;
using System.Text;

namespace MeterHub.StandIn.Tancy
{
    internal sealed class SimReader
    {
        public bool Card;
        public bool Psam = true;
        public byte[] Img = CardImage.Blank();
        public string Fault;

        static string Dir()
        {
            string d = Environment.GetEnvironmentVariable("METERHUB_SIM_CPU_DIR");
            return string.IsNullOrEmpty(d) ? Path.Combine("build", "sim-cpu") : d;
        }

        static string PathOf(int com) { return Path.Combine(Dir(), "com" + com + ".card"); }

        /// <summary>Loads the reader on `com`; Rc.Ok, Rc.PortInit (port out of range) or Rc.Read (bad file).</summary>
        public static int Load(int com, out SimReader s)
        {
            s = new SimReader();
            if (com < 0 || com > 255) return Rc.PortInit;
            string path = PathOf(com);
            if (!File.Exists(path)) return Rc.Ok;
            s.Psam = false;
            foreach (string raw in File.ReadAllLines(path))
            {
                string line = raw.TrimEnd('\r', '\n');
                if (line.StartsWith("card=")) s.Card = line.Length > 5 && line[5] == '1';
                else if (line.StartsWith("psam=")) s.Psam = line.Length > 5 && line[5] == '1';
                else if (line.StartsWith("fault=")) s.Fault = line.Substring(6).Trim();
                else if (line.StartsWith("data="))
                {
                    byte[] img = CardImage.FromHex(line.Substring(5), CardImage.Total);
                    if (img == null) return Rc.Read;
                    s.Img = img;
                }
            }
            return Rc.Ok;
        }

        public int Save(int com)
        {
            if (com < 0 || com > 255) return Rc.PortInit;
            try
            {
                string path = PathOf(com);
                Directory.CreateDirectory(Dir());
                string tmp = path + ".tmp";
                var text = new StringBuilder();
                text.Append("card=").Append(Card ? 1 : 0).Append('\n');
                text.Append("psam=").Append(Psam ? 1 : 0).Append('\n');
                text.Append("data=").Append(CardImage.ToHex(Img)).Append('\n');
                if (!string.IsNullOrEmpty(Fault)) text.Append("fault=").Append(Fault).Append('\n');
                File.WriteAllText(tmp, text.ToString(), new UTF8Encoding(false));
                if (File.Exists(path)) File.Delete(path); // Windows File.Move does not replace
                File.Move(tmp, path);
                return Rc.Ok;
            }
            catch (IOException) { return Rc.Write; }
            catch (UnauthorizedAccessException) { return Rc.Write; }
        }

        /// <summary>Card present and (when needed) PSAM present: the reader state every CPU operation needs.</summary>
        public static int Ready(int com, bool needPsam, out SimReader s)
        {
            int rc = Load(com, out s);
            if (rc != Rc.Ok) return rc;
            Faults.Trigger(com, s);
            if (!s.Card) return Rc.NoCard;
            if (needPsam && !s.Psam) return Rc.Psam;
            return Rc.Ok;
        }
    }

    /// <summary>One-shot misbehaviour for tests of the bridge (stand-in only; a real library misbehaves unasked).</summary>
    internal static class Faults
    {
        public static void Trigger(int com, SimReader s)
        {
            string f = s.Fault;
            if (string.IsNullOrEmpty(f)) return;
            s.Fault = null;
            s.Save(com); // consumed first, so the respawned host serves the same port normally
            switch (f)
            {
                case "throw":
                    throw new InvalidOperationException("stand-in / 替身: simulated reader failure on port " + com);
                case "failfast":
                    Environment.FailFast("stand-in / 替身: simulated fatal error in the Tancy library");
                    break;
                case "noise":
                    // Like a chatty vendor library: Console output plus raw bytes on fd 1 without a newline.
                    Console.WriteLine("Tancy stand-in: reader opened on port " + com);
                    Console.Out.Flush();
                    var raw = Console.OpenStandardOutput();
                    byte[] b = Encoding.ASCII.GetBytes("TANCY-RAW-NOISE port " + com + " 0A1B2C3D4E5F ");
                    raw.Write(b, 0, b.Length);
                    raw.Flush();
                    break;
                case "hang":
                    System.Threading.Thread.Sleep(System.Threading.Timeout.Infinite);
                    break;
            }
        }
    }
}
