/**
 * Idle memory of the server as a counter PC runs it (issue 17): `npx tsx bench/idle-memory.ts [--rounds 2]`.
 *
 * Measured: `node bin/meterhub.mjs serve` exactly as `npm start` runs it (embedded defaults: SQLite in a temp
 * data dir, bundled plugins, a free port), once /v1/ready says 200 (every driver host up) and it has idled a
 * few seconds; RSS of the server plus every process under it (its driver hosts, and any helper such as an
 * esbuild service). Baseline in the same run: a bare fastify process with one JSON route (asked once) plus
 * six bare `node -e` processes that only wait — what the same process layout costs with nothing of ours in it.
 * Ratio = serve total / baseline total; target ≤ 1.3×. Each figure is the median of its rounds.
 *
 * RSS is VmRSS from /proc/<pid>/status (Linux). On Windows one would read each process's working set instead
 * (PowerShell `(Get-Process -Id <pid>).WorkingSet64`, or `tasklist /FI "PID eq <pid>"`), children found with
 * `Get-CimInstance Win32_Process -Filter "ParentProcessId=<pid>"`; this script measures Linux only.
 * Under bench/run-all.ts the figures also go to $METERHUB_BENCH_OUT.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const ROUNDS = arg('rounds', 2);
const HOSTS = 6;
const IDLE_MS = arg('idle-ms', 5000);
const TARGET = 1.3;

const rssKiB = (pid: number): number => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0; // gone
  }
};
const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
const mib = (kib: number) => +(kib / 1024).toFixed(1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every process below pid (children of all its threads), depth first. */
function descendants(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    let kids: number[] = [];
    try {
      kids = readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      /* thread gone */
    }
    for (const k of kids) out.push(k, ...descendants(k));
  }
  return out;
}

/** Starts a child and resolves with the first stdout line matching `re`. */
function startUntil(
  cmd: string,
  args: string[],
  re: RegExp,
  env: NodeJS.ProcessEnv,
): Promise<{ p: ChildProcess; m: RegExpExecArray }> {
  const p = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  p.stderr!.on('data', (d: Buffer) => {
    err = (err + String(d)).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    let out = '';
    p.stdout!.on('data', (d: Buffer) => {
      out += String(d);
      const m = re.exec(out);
      if (m) resolve({ p, m });
    });
    p.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code} before ready: ${err}`)));
  });
}

async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await Promise.race([gone, sleep(10_000)]);
  if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
}

async function waitReady(url: string): Promise<void> {
  const until = Date.now() + 120_000;
  while (Date.now() < until) {
    const r = await fetch(`${url}/v1/ready`).catch(() => null);
    if (r?.status === 200) return;
    await sleep(250);
  }
  throw new Error('serve did not become ready in 120 s');
}

/** The server's env: embedded defaults, nothing from the caller's configuration. */
function serveEnv(dataDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('METERHUB_') && k !== 'DATABASE_URL' && k !== 'PORT' && k !== 'NODE_OPTIONS') env[k] = v;
  return { ...env, METERHUB_DATA_DIR: dataDir };
}

async function measureServe() {
  const dataDir = mkdtempSync(join(tmpdir(), 'mh-bench-idle-'));
  const { p, m } = await startUntil(
    process.execPath,
    ['bin/meterhub.mjs', 'serve', '--port', '0', '--data', dataDir],
    /METERHUB_LISTENING (\S+)/,
    serveEnv(dataDir),
  );
  try {
    await waitReady(m[1]!);
    await sleep(IDLE_MS);
    const kids = descendants(p.pid!);
    const procs = kids.map((pid) => ({ pid, cmd: cmdline(pid), rss: rssKiB(pid) }));
    const hosts = procs.filter((x) =>
      x.cmd.some((a) => /driver-host[/\\]main\.mjs$|driver[/\\]host[/\\]main\.ts$/.test(a)),
    );
    const others = procs.filter((x) => !hosts.includes(x));
    const server = rssKiB(p.pid!);
    if (hosts.length !== HOSTS) throw new Error(`expected ${HOSTS} driver hosts under serve, found ${hosts.length}`);
    return {
      serverKiB: server,
      hostsKiB: hosts.map((h) => h.rss),
      hostsBundled: hosts.every((h) => !h.cmd.join(' ').includes('tsx')),
      othersKiB: others.map((o) => ({ rss: o.rss, cmd: o.cmd.slice(0, 2).join(' ').slice(-80) })),
      totalKiB: server + procs.reduce((a, x) => a + x.rss, 0),
    };
  } finally {
    await stop(p);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const BARE_FASTIFY = `import Fastify from 'fastify';
const app = Fastify();
app.get('/', async () => ({ ok: true }));
const url = await app.listen({ port: 0, host: '127.0.0.1' });
console.log('LISTENING ' + url);`;

async function measureBaseline() {
  const { p, m } = await startUntil(
    process.execPath,
    ['--input-type=module', '-e', BARE_FASTIFY],
    /LISTENING (\S+)/,
    process.env,
  );
  const idle: ChildProcess[] = [];
  try {
    const r = await fetch(m[1]!);
    if (r.status !== 200) throw new Error(`bare fastify answered ${r.status}`);
    for (let i = 0; i < HOSTS; i++)
      idle.push(
        (
          await startUntil(
            process.execPath,
            ['-e', 'console.log("up"); setInterval(() => {}, 1 << 30)'],
            /up/,
            process.env,
          )
        ).p,
      );
    await sleep(IDLE_MS);
    const fastify = rssKiB(p.pid!);
    const nodes = idle.map((c) => rssKiB(c.pid!));
    return { fastifyKiB: fastify, nodesKiB: nodes, totalKiB: fastify + nodes.reduce((a, b) => a + b, 0) };
  } finally {
    await Promise.all([p, ...idle].map(stop));
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main() {
  const loadBefore = loadavg().map((x) => +x.toFixed(2));
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate the order so neither side always runs on a warmer page cache.
    const [serve, base] =
      r % 2 === 0
        ? [await measureServe(), await measureBaseline()]
        : await measureBaseline().then(async (b) => [await measureServe(), b] as const);
    rounds.push({ serve, base });
    console.error(
      `round ${r + 1}: serve ${mib(serve.totalKiB)} MiB (server ${mib(serve.serverKiB)}, hosts ${serve.hostsKiB.map(mib).join('/')}, other ${serve.othersKiB.map((o) => `${mib(o.rss)} ${o.cmd}`).join(', ') || 'none'}); bare ${mib(base.totalKiB)} MiB (fastify ${mib(base.fastifyKiB)}, node ${base.nodesKiB.map(mib).join('/')})`,
    );
  }
  const serveTotal = median(rounds.map((x) => x.serve.totalKiB));
  const baseTotal = median(rounds.map((x) => x.base.totalKiB));
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    loadBefore,
    loadAfter: loadavg().map((x) => +x.toFixed(2)),
    rounds,
    serve: {
      totalMiB: mib(serveTotal),
      serverMiB: mib(median(rounds.map((x) => x.serve.serverKiB))),
      hostMiB: mib(median(rounds.flatMap((x) => x.serve.hostsKiB))),
      othersMiB: mib(median(rounds.map((x) => x.serve.othersKiB.reduce((a, o) => a + o.rss, 0)))),
      hosts: HOSTS,
      hostsBundled: rounds.every((x) => x.serve.hostsBundled),
    },
    baseline: {
      totalMiB: mib(baseTotal),
      fastifyMiB: mib(median(rounds.map((x) => x.base.fastifyKiB))),
      nodeMiB: mib(median(rounds.flatMap((x) => x.base.nodesKiB))),
    },
    ratio: +(serveTotal / baseTotal).toFixed(2),
    target: { ratioAtMost: TARGET },
  };
  console.log(JSON.stringify(result, null, 2));
  if (process.env.METERHUB_BENCH_OUT)
    writeFileSync(process.env.METERHUB_BENCH_OUT, JSON.stringify(result, null, 2) + '\n');
}

await main();
