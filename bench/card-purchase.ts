/**
 * Card purchase benchmark: `npx tsx bench/card-purchase.ts [--cards 5000] [--concurrency 64] [--skip-pg]`.
 *
 * Measures full purchases over HTTP (identify across every 4442 plugin, Read, ReadUsage, Buy, ledger commit
 * with synchronous FULL / PostgreSQL commit, audit append) on SQLite and PostgreSQL, beside baselines measured
 * in the same run on the same machine:
 *   - a bare fastify JSON route with the same body (HTTP + JSON + schema cost only);
 *   - the same stand-in library (替身库) called in-process through koffi (the library's own cost);
 *   - the same calls through the driver host (child process + IPC): the difference is the IPC overhead per call.
 * The server runs in a child process (bench/card-bench-server.ts); the load generator runs here.
 * Purchases are measured at 32, 64 and 128 concurrent clients (`--concurrency N`: that one only) on fresh cards
 * each; the throughput reported is the best of them (where the server saturates), with that level's latency,
 * and the bare route is measured at the same levels. A lone sale is measured too: one client, one purchase at
 * a time (LONE_SALES of them), beside the bare route at one client (the clerk's view: p50 against p50).
 * Runs: SQLite (ledger thread), SQLite with the ledger on the event loop, PostgreSQL, and PostgreSQL with every
 * sale and audit batch a transaction (MH_BENCH_PG_ONE_STATEMENT=off): each new path beside the old in one run.
 * On PostgreSQL the server counts the statements it sends and the durable commits among them (a COMMIT, or a
 * writing statement outside a transaction), reported per purchase.
 * `--identify-ab`: bare route + SQLite purchases naming the maker and not (see IDENTIFY_AB).
 * `--pg-ab`: only the bare route and the two PostgreSQL runs, printed, no results written (a quick A/B).
 * Targets (ratios in the same run): purchase/bare ≥ 0.25 (SQLite), ≥ 0.15 (PostgreSQL); lone sale p50 ≤ 3 ×
 * the bare route's p50 at one client, on both.
 * `--readings-per-second N` adds readings to the same server and database while it sells (mixed load).
 * Results: bench/results/card.json and bench/results/card.md.
 * `--profile` writes a CPU profile of the server over the measured purchase levels only (and of every
 * driver host over its whole life) to $TMPDIR/meterhub-bench-profile.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import koffi from 'koffi';
import { openServerDatabase } from '../core/server/server.ts';
import { TokenStore } from '../core/auth/token-store.ts';
import { createCardDriver } from '../core/driver/driver-client.ts';
import { createPgDatabase, openTestDatabase } from '../core/ledger/testing/databases.ts';
import { KeyVault } from '../core/ledger/key-vault.ts';
import { LedgerStore } from '../core/ledger/ledger-store.ts';
import { createPluginHost } from '../core/plugins/plugin-host.ts';
import { serviceAvailable } from '../core/testing/services.ts';
import { meterWriteBack, standInLibraryPath } from '../core/testing/stand-in-meter.ts';
import { snapshot, used } from './process-cpu.ts';

const ROOT = join(import.meta.dirname, '..');
const args = process.argv.slice(2);
const arg = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const CARDS = arg('cards', 5000);
/** Clients for setup and the in-process breakdown. */
const CONCURRENCY = arg('concurrency', 32);
/** Concurrency levels the purchase is measured at (closed-loop clients: each waits for its answer before the next). */
const LEVELS = args.includes('--concurrency') ? [CONCURRENCY] : [32, 64, 128];
/** Purchases in the lone-sale level (one client): enough for a p50, few enough to stay short. */
const LONE_SALES = Math.min(200, Math.floor(CARDS / 10));
const PG_AB = args.includes('--pg-ab');
/**
 * `--identify-ab`: only the bare route and SQLite purchases twice, naming the maker and not (then every
 * sale's 判卡 asks every maker): the same-run comparison for identify-only-where-needed. Printed, not written.
 */
const IDENTIFY_AB = args.includes('--identify-ab');
const SKIP_PG = args.includes('--skip-pg');
/**
 * Mixed load: the server also stores this many synthetic readings a second on its own readings pipeline (the
 * same database) while it sells, and prints its event-loop delay at the end. Off in `npm run bench`.
 */
const READINGS_PER_SECOND = arg('readings-per-second', 0);
const ONLY_SQLITE = args.includes('--only-sqlite');
if (READINGS_PER_SECOND > 0 && !ONLY_SQLITE)
  throw new Error('--readings-per-second needs --only-sqlite (a mixed run must not stand in the recorded results)');
const PROFILE = args.includes('--profile') ? join(tmpdir(), 'meterhub-bench-profile') : null;
const MAKER = 'kingcard';
/** Purchases before the measured ones: every driver host has started and the JIT has warmed (steady state). */
const WARMUP = Math.min(300, Math.floor(CARDS / 10));

// ---------------------------------------------------------------- load generator

interface LoadResult {
  requests: number;
  seconds: number;
  perSecond: number;
  p50ms: number;
  p99ms: number;
  statuses: Record<string, number>;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function request(
  url: URL,
  path: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

/**
 * Runs items with `concurrency` workers; with group > 1, consecutive items run in order as one flow
 * (latency per flow).
 */
async function load(
  base: string,
  items: Array<{ path: string; body: unknown; headers?: Record<string, string> }>,
  concurrency: number,
  onResult?: (i: number, r: { status: number; text: string }) => void,
  group = 1,
): Promise<LoadResult> {
  const url = new URL(base);
  const lat: number[] = [];
  const statuses: Record<string, number> = {};
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const g = next++;
        if (g * group >= items.length) return;
        const s = performance.now();
        for (let i = g * group; i < Math.min(items.length, (g + 1) * group); i++) {
          const it = items[i]!;
          const r = await request(url, it.path, JSON.stringify(it.body), it.headers ?? {});
          statuses[r.status] = (statuses[r.status] ?? 0) + 1;
          onResult?.(i, r);
        }
        lat.push(performance.now() - s);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const flows = Math.ceil(items.length / group);
  return {
    requests: flows,
    seconds: +seconds.toFixed(3),
    perSecond: +(flows / seconds).toFixed(1),
    p50ms: +pct(lat, 50).toFixed(3),
    p99ms: +pct(lat, 99).toFixed(3),
    statuses,
  };
}

/**
 * The same fixed CPU work every time (a JSON round trip and a SHA-256 of a card-sized body), in µs per op:
 * this shared machine's speed drifts by more than our changes do, so every run says how fast it was just then.
 */
function speedProbe(): number {
  const body = {
    cardType: '4442',
    data: 'A2'.repeat(256),
    cardNo: '12345678',
    gas: 20,
    nested: { a: [1, 2, 3], b: 'x'.repeat(40) },
  };
  const n = 20_000;
  const t0 = performance.now();
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const text = JSON.stringify({ ...body, gas: i });
    acc += (JSON.parse(text) as { gas: number }).gas + createHash('sha256').update(text).digest()[0]!;
  }
  if (acc < 0) throw new Error('unreachable');
  return +(((performance.now() - t0) * 1000) / n).toFixed(2);
}

/** The level with the highest rate: throughput where the server saturates. */
function bestLevel<T extends { perSecond: number }>(levels: T[]): T {
  return levels.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
}

// ---------------------------------------------------------------- server child

async function startChild(
  mode: 'meterhub' | 'bare',
  dataDir: string,
  env: Record<string, string> = {},
): Promise<{ url: string; proc: ChildProcess }> {
  const base = { ...process.env };
  delete base.DATABASE_URL;
  // The server profiles itself between two SIGUSR2s and hands the driver hosts a preload that profiles them.
  const prof =
    PROFILE && mode === 'meterhub'
      ? { MH_BENCH_PROFILE_DIR: PROFILE, MH_BENCH_HOST_PROFILE_DIR: join(PROFILE, 'hosts') }
      : {};
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'bench', 'card-bench-server.ts'), mode, dataDir],
    {
      cwd: ROOT,
      env: { ...base, ...env, ...prof },
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d) => {
      out += String(d);
      const m = /LISTENING (\S+)/.exec(out);
      if (m) resolve({ url: m[1]!, proc });
    });
    proc.once('exit', (c) => reject(new Error(`bench server exited ${c}: ${out}`)));
  });
}

/** Starts or stops the server's phase profile; resolves once the server says it has. */
function toggleProfile(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    const on = (d: Buffer) => {
      if (/PROFILE (ON|OFF)/.test(String(d))) {
        proc.stdout!.off('data', on);
        resolve();
      }
    };
    proc.stdout!.on('data', on);
    proc.kill('SIGUSR2');
  });
}

/** PostgreSQL runs: the statements and commits the server has sent so far (card-bench-server.ts counts them). */
interface StatementCounts {
  statements: number;
  transactions: number;
  commits: number;
}

function statementCounts(proc: ChildProcess): Promise<StatementCounts> {
  return new Promise((resolve) => {
    let out = '';
    const on = (d: Buffer) => {
      out += String(d);
      const m = /STATS (\{[^\n]*\})\n/.exec(out);
      if (m) {
        proc.stdout!.off('data', on);
        resolve(JSON.parse(m[1]!) as StatementCounts);
      }
    };
    proc.stdout!.on('data', on);
    proc.stdin!.write('stats\n');
  });
}

async function stopChild(proc: ChildProcess): Promise<void> {
  const done = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await done;
}

// ---------------------------------------------------------------- scenarios

/**
 * `sqlite-event-loop` is SQLite with the ledger's commits on the server's event loop, as before the ledger
 * thread (core/ledger/thread/): the same-run measure of what the thread is worth. `postgres-transactional` is
 * PostgreSQL with every sale and audit batch a transaction of several statements, as before the one-statement
 * sale: the same-run measure of what that is worth.
 */
type RunKind = 'sqlite' | 'postgres' | 'sqlite-event-loop' | 'postgres-transactional';

async function purchaseRun(database: RunKind, o: { named?: boolean } = {}) {
  // As the station does: the maker its read named (unless the comparison asks for sales that name none).
  const NAMED = o.named === false ? {} : { maker: MAKER };
  const kind = database.startsWith('postgres') ? 'postgres' : 'sqlite';
  const dataDir = mkdtempSync(join(tmpdir(), `mh-bench-${kind}-`));
  let drop = async () => {};
  const env: Record<string, string> =
    database === 'sqlite-event-loop'
      ? { MH_BENCH_LEDGER_THREAD: 'off' }
      : database === 'postgres-transactional'
        ? { MH_BENCH_PG_ONE_STATEMENT: 'off' }
        : {};
  if (READINGS_PER_SECOND > 0) env.MH_BENCH_READINGS_PER_S = String(READINGS_PER_SECOND);
  let databaseUrl: string | undefined;
  if (kind === 'postgres') {
    const p = await createPgDatabase();
    drop = p.drop;
    databaseUrl = p.url;
    env.DATABASE_URL = p.url;
  }
  const db = await openServerDatabase({ dataDir, ...(databaseUrl ? { databaseUrl } : {}) });
  const token = (await new TokenStore(db).create('bench-counter', 'counter')).token;
  await db.close();
  const { url, proc } = await startChild('meterhub', dataDir, env);
  const auth = { authorization: `Bearer ${token}` };
  try {
    const speedBefore = speedProbe();
    const prefix = `${Date.now() % 1e7}`;
    // Each purchase level and the station flow get cards of their own, never sold on before.
    const half = Math.floor(CARDS / 2);
    const total = WARMUP + LEVELS.length * half + half + LONE_SALES;
    const allNos = Array.from({ length: total }, (_, i) => `${prefix}${String(i).padStart(6, '0')}`);
    // Warm-up + setup: issue and confirm every card (also measured, for the record).
    const issued: string[] = new Array(total);
    const issue = await load(
      url,
      allNos.map((cardNo) => ({
        path: '/v1/cards/issue',
        body: { maker: MAKER, cardType: '4442', cardNo, gas: 0, meterKind: 1 },
        headers: auth,
      })),
      CONCURRENCY,
      (i, r) => {
        issued[i] = r.text;
      },
    );
    const parsed = issued.map((t) => JSON.parse(t) as { transactionId: string; data: string });
    const confirm = await load(
      url,
      parsed.map((p) => ({
        path: `/v1/transactions/${p.transactionId}/confirm`,
        body: { data: p.data },
        headers: auth,
      })),
      CONCURRENCY,
    );
    // The meter takes each card (stand-in write-back, in-process koffi): every card is ready for a sale.
    const allCards = parsed.map((p) => meterWriteBack(MAKER, '4442', p.data));
    const warm = await load(
      url,
      allCards.slice(0, WARMUP).map((data, i) => ({
        path: '/v1/cards/purchase',
        body: { cardType: '4442', data, cardNo: allNos[i], gas: 20, ...NAMED },
        headers: auth,
      })),
      CONCURRENCY,
    );
    if ((warm.statuses['201'] ?? 0) !== WARMUP)
      throw new Error(`warm-up purchases failed: ${JSON.stringify(warm.statuses)}`);
    const slice = (k: number) => ({
      cards: allCards.slice(WARMUP + k * half, WARMUP + (k + 1) * half),
      nos: allNos.slice(WARMUP + k * half, WARMUP + (k + 1) * half),
    });
    const purchases = (cards: string[], nos: string[]) =>
      cards.map((data, i) => ({
        path: '/v1/cards/purchase',
        body: { cardType: '4442', data, cardNo: nos[i], gas: 20, ...NAMED },
        headers: { ...auth, 'idempotency-key': `b-${nos[i]}` },
      }));
    const counted = async <T>(n: number, f: () => Promise<T>) => {
      if (kind !== 'postgres') return { result: await f(), perPurchase: null };
      const c0 = await statementCounts(proc);
      const result = await f();
      const c1 = await statementCounts(proc);
      const per = (k: keyof StatementCounts) => +((c1[k] - c0[k]) / n).toFixed(2);
      return {
        result,
        perPurchase: { statements: per('statements'), transactions: per('transactions'), commits: per('commits') },
      };
    };
    // The lone sale: one client, one purchase after the other (cards of its own, after every level's).
    const loneStart = WARMUP + (LEVELS.length + 1) * half;
    const lone = await counted(LONE_SALES, () =>
      load(
        url,
        purchases(allCards.slice(loneStart, loneStart + LONE_SALES), allNos.slice(loneStart, loneStart + LONE_SALES)),
        1,
      ),
    );
    const loneSale = { concurrency: 1, ...lone.result, statementsPerPurchase: lone.perPurchase };
    if (PROFILE) await toggleProfile(proc);
    const levels = [];
    for (const [k, concurrency] of LEVELS.entries()) {
      const { cards, nos } = slice(k);
      const c0 = kind === 'postgres' ? await statementCounts(proc) : null;
      const cpu0 = snapshot(proc.pid!);
      const me0 = process.cpuUsage();
      const result = await load(url, purchases(cards, nos), concurrency);
      const me = process.cpuUsage(me0);
      const cpu = used(proc.pid!, cpu0, snapshot(proc.pid!));
      const c1 = c0 ? await statementCounts(proc) : null;
      const statementsPerPurchase =
        c0 && c1
          ? {
              statements: +((c1.statements - c0.statements) / half).toFixed(2),
              transactions: +((c1.transactions - c0.transactions) / half).toFixed(2),
              commits: +((c1.commits - c0.commits) / half).toFixed(2),
            }
          : null;
      const perPurchase = (ms: number) => +(ms / half).toFixed(4);
      const cpuPerPurchaseMs = cpu
        ? {
            server: perPurchase(cpu.rootMs),
            driverHosts: perPurchase(cpu.childrenMs),
            loadGenerator: perPurchase((me.user + me.system) / 1000),
          }
        : null;
      // How often each side went to sleep and had to be woken, per purchase: the cost the profile cannot show.
      const wakeupsPerPurchase = cpu
        ? { server: +(cpu.rootSleeps / half).toFixed(2), driverHosts: +(cpu.childrenSleeps / half).toFixed(2) }
        : null;
      levels.push({ concurrency, ...result, cpuPerPurchaseMs, wakeupsPerPurchase, statementsPerPurchase });
    }
    if (PROFILE) await toggleProfile(proc);
    const best = bestLevel(levels);
    const {
      concurrency: bestConcurrency,
      cpuPerPurchaseMs,
      wakeupsPerPurchase,
      statementsPerPurchase,
      ...purchase
    } = best;
    const station = slice(LEVELS.length);
    const stationFlow = await load(
      url,
      station.cards.flatMap((data, i) => [
        { path: '/v1/cards/read', body: { cardType: '4442', data }, headers: auth },
        {
          path: '/v1/cards/purchase',
          body: { cardType: '4442', data, cardNo: station.nos[i], gas: 20, ...NAMED },
          headers: { ...auth, 'idempotency-key': `b-${station.nos[i]}` },
        },
      ]),
      bestConcurrency,
      undefined,
      2,
    );
    const speedProbeMicros = { before: speedBefore, after: speedProbe() };
    return {
      database,
      issue,
      confirm,
      purchase: { concurrency: bestConcurrency, ...purchase },
      levels,
      stationFlow,
      loneSale,
      cpuPerPurchaseMs,
      wakeupsPerPurchase,
      statementsPerPurchase,
      speedProbeMicros,
    };
  } finally {
    await stopChild(proc);
    await drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function bareRun(sample: { data: string; cardNo: string }) {
  const dataDir = mkdtempSync(join(tmpdir(), 'mh-bench-bare-'));
  const { url, proc } = await startChild('bare', dataDir);
  try {
    // Enough requests per level for a phase of about a second: the bare route is ten times faster than a purchase.
    const items = Array.from({ length: 10 * CARDS }, () => ({
      path: '/echo',
      body: { cardType: '4442', data: sample.data, cardNo: sample.cardNo, gas: 20 },
    }));
    await load(url, items.slice(0, 500), CONCURRENCY); // warm-up
    const levels = [];
    for (const concurrency of LEVELS) levels.push({ concurrency, ...(await load(url, items, concurrency)) });
    // One client, as many requests as the lone sale has purchases: its p50 is the lone sale's baseline.
    const lone = { concurrency: 1, ...(await load(url, items.slice(0, Math.max(LONE_SALES, 200)), 1)) };
    // The best level, as for the purchase: both are throughput where the server saturates.
    return { ...bestLevel(levels), levels, lone };
  } finally {
    await stopChild(proc);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function koffiRun(card: string, cardNo: string, n: number) {
  const lib = koffi.load(standInLibraryPath(MAKER));
  const buy = lib.func(
    'int Buy4442Card(const char *source, const char *kh, int ql, int16_t cs, _Out_ uint8_t *dest, _Out_ uint8_t *oldKey, _Out_ uint8_t *newKey)',
  );
  const check = lib.func('int Check4442Card(const char *source)');
  const dest = Buffer.alloc(4096);
  const k1 = Buffer.alloc(64);
  const k2 = Buffer.alloc(64);
  for (let i = 0; i < 2000; i++) buy(card, cardNo, 20, 2, dest, k1, k2);
  let t0 = performance.now();
  for (let i = 0; i < n; i++) if (buy(card, cardNo, 20, 2, dest, k1, k2) !== 0) throw new Error('Buy failed');
  const buyUs = ((performance.now() - t0) * 1000) / n;
  t0 = performance.now();
  for (let i = 0; i < n; i++) check(card);
  const checkUs = ((performance.now() - t0) * 1000) / n;
  return {
    calls: n,
    buyMicros: +buyUs.toFixed(2),
    checkMicros: +checkUs.toFixed(2),
    buysPerSecond: Math.round(1e6 / buyUs),
  };
}

async function ipcRun(card: string, cardNo: string, n: number) {
  const driver = createCardDriver({ libraryPath: standInLibraryPath(MAKER), name: MAKER });
  try {
    for (let i = 0; i < 500; i++) await driver.buy('4442', { source: card, cardNo, gas: 20, count: 2 });
    const lat: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const s = performance.now();
      await driver.buy('4442', { source: card, cardNo, gas: 20, count: 2 });
      lat.push(performance.now() - s);
    }
    const seqMs = (performance.now() - t0) / n;
    lat.sort((a, b) => a - b);
    // Pipelined: 64 calls in flight (the host serialises them; this is throughput, not latency).
    const t1 = performance.now();
    let left = n;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (left-- > 0) await driver.check('4442', card);
      }),
    );
    const pipelinedMs = (performance.now() - t1) / n;
    return {
      calls: n,
      sequentialMeanMs: +seqMs.toFixed(4),
      p50ms: +pct(lat, 50).toFixed(4),
      p99ms: +pct(lat, 99).toFixed(4),
      pipelinedMeanMs: +pipelinedMs.toFixed(4),
    };
  } finally {
    await driver.close();
  }
}

/** Where a purchase's time goes, measured in-process: the ledger commit alone, and 判卡 fan-out vs one driver call. */
/**
 * The floor under a lone sale: one durable commit of one small row, one after the other, on each store (SQLite
 * synchronous=FULL, PostgreSQL synchronous_commit=on), p50 in ms. A sale and its audit row are two such commits.
 */
async function durableCommitProbe() {
  const out: Record<string, { p50ms: number; p99ms: number }> = {};
  for (const kind of ['sqlite', ...(SKIP_PG || !(await serviceAvailable('postgres')) ? [] : ['postgres'])] as const) {
    const t = await openTestDatabase(kind as 'sqlite' | 'postgres', { migrate: false });
    try {
      await t.database.db.schema.createTable('probe').addColumn('n', 'integer').execute();
      const lat: number[] = [];
      for (let i = 0; i < 200; i++) {
        const s0 = performance.now();
        await t.database.db.insertInto('probe').values({ n: i }).execute();
        lat.push(performance.now() - s0);
      }
      lat.sort((a, b) => a - b);
      out[kind] = { p50ms: +pct(lat, 50).toFixed(3), p99ms: +pct(lat, 99).toFixed(3) };
    } finally {
      await t.cleanup();
    }
  }
  return out;
}

async function breakdown(card: string) {
  const out: Record<string, unknown> = {};
  for (const kind of ['sqlite', ...(SKIP_PG || !(await serviceAvailable('postgres')) ? [] : ['postgres'])] as const) {
    const t = await openTestDatabase(kind as 'sqlite' | 'postgres', { poolSize: 10 });
    try {
      const store = new LedgerStore(t.database, KeyVault.random());
      const actor = { name: 'bench', role: 'counter', channel: 'bench' };
      const w = { data: card, oldKey: 'ABCDEF', newKey: 'ABCDEF' };
      const n = 2000;
      for (let i = 0; i < n; i++) {
        const r = await store.commitIssue({
          actor,
          maker: 'k',
          cardType: '4442',
          cardNo: String(i),
          gas: 0,
          count: 1,
          meterKind: 1,
          write: w,
        });
        await store.confirm(r.transactionId!, { ok: true });
      }
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          for (;;) {
            const i = next++;
            if (i >= n) return;
            await store.commitPurchase({
              actor,
              maker: 'k',
              cardType: '4442',
              cardNo: String(i),
              gas: 5,
              count: 2,
              observed: { cardNo: String(i), count: 1, gas: 0 },
              requireEmpty: true,
              write: w,
              idem: { scope: 'bench', key: `p${i}`, requestHash: 'h' },
            });
          }
        }),
      );
      const ms = (performance.now() - t0) / n;
      out[`ledgerPurchaseCommit_${kind}`] = { msPerOp: +ms.toFixed(4), perSecond: Math.round(1000 / ms) };
    } finally {
      await t.cleanup();
    }
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'mh-bench-host-'));
  const host = await createPluginHost({ bundledDir: join(ROOT, 'plugins'), ignoreEnv: true, dataDir });
  try {
    const n = 3000;
    const run = async (f: () => Promise<unknown>) => {
      for (let i = 0; i < 200; i++) await f();
      let left = n;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (left-- > 0) await f();
        }),
      );
      const ms = (performance.now() - t0) / n;
      return { msPerOp: +ms.toFixed(4), perSecond: Math.round(1000 / ms) };
    };
    out.identifyFanOut4442 = {
      plugins: host.list().filter((p) => p.enabled && p.cardTypes.includes('4442')).length,
      ...(await run(() => host.identify('4442', card))),
    };
    out.oneDriverRead = await run(() => host.driver(MAKER).read('4442', card));
  } finally {
    await host.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return out;
}

// ---------------------------------------------------------------- main

async function main() {
  const started = new Date().toISOString();
  const loadBefore = loadavg().map((x) => +x.toFixed(2));
  const speedAtStart = speedProbe();
  // A ready sample card for the library baselines.
  const lib = koffi.load(standInLibraryPath(MAKER));
  const writeNew = lib.func(
    'int WriteNew4442Card(const char *kh, int ql, int16_t cs, int16_t klx, _Out_ uint8_t *data, _Out_ uint8_t *oldKey, _Out_ uint8_t *newKey)',
  );
  const buf = Buffer.alloc(4096);
  writeNew('12345678', 0, 1, 1, buf, Buffer.alloc(64), Buffer.alloc(64));
  const sample = {
    cardNo: '12345678',
    data: meterWriteBack(MAKER, '4442', buf.subarray(0, buf.indexOf(0)).toString('ascii')),
  };

  console.error(`card purchase benchmark: ${CARDS} cards, concurrency ${LEVELS.join('/')}`);
  if (ONLY_SQLITE) {
    const r = await purchaseRun('sqlite');
    for (const l of r.levels) console.error('sqlite purchase', l);
    console.error('speed probe µs/op', r.speedProbeMicros);
    console.error('sqlite station flow', r.stationFlow, PROFILE ? `profiles in ${PROFILE}` : '');
    return;
  }
  if (IDENTIFY_AB) {
    const bare = await bareRun(sample);
    console.error('bare fastify', { ...bare, levels: undefined });
    for (const named of [true, false]) {
      const r = await purchaseRun('sqlite', { named });
      const label = named ? 'sqlite, maker named' : 'sqlite, no maker';
      console.error(label, 'best', r.purchase, 'ratio', +(r.purchase.perSecond / bare.perSecond).toFixed(3));
      console.error(label, 'cpu per purchase', r.cpuPerPurchaseMs, 'wake-ups', r.wakeupsPerPurchase);
      console.error(label, 'lone sale', r.loneSale, 'p50 ratio', +(r.loneSale.p50ms / bare.lone.p50ms).toFixed(2));
    }
    agent.destroy();
    return;
  }
  if (PG_AB) {
    const bare = await bareRun(sample);
    console.error('bare fastify', { ...bare, levels: undefined });
    // Both orders (A B B A): the machine's load drifts between runs.
    for (const db of ['postgres', 'postgres-transactional', 'postgres-transactional', 'postgres'] as const) {
      const r = await purchaseRun(db);
      console.error(db, 'best', r.purchase, 'ratio', +(r.purchase.perSecond / bare.perSecond).toFixed(3));
      console.error(db, 'statements per purchase at the best level', r.statementsPerPurchase);
      console.error(db, 'lone sale', r.loneSale, 'p50 ratio', +(r.loneSale.p50ms / bare.lone.p50ms).toFixed(2));
      console.error(db, 'station flow', r.stationFlow, 'speed probe', r.speedProbeMicros);
    }
    agent.destroy();
    return;
  }
  const koffiDirect = koffiRun(sample.data, sample.cardNo, 20_000);
  console.error('koffi in-process', koffiDirect);
  const ipc = await ipcRun(sample.data, sample.cardNo, 5000);
  console.error('driver host IPC', ipc);
  const parts = await breakdown(sample.data);
  console.error('breakdown', parts);
  const durableCommit = await durableCommitProbe();
  console.error('one durable commit', durableCommit);
  const bare = await bareRun(sample);
  console.error('bare fastify', bare);
  const runs = [await purchaseRun('sqlite')];
  console.error('sqlite', runs[0]!.purchase);
  runs.push(await purchaseRun('sqlite-event-loop'));
  console.error('sqlite, ledger on the event loop', runs[1]!.purchase);
  if (!SKIP_PG && (await serviceAvailable('postgres'))) {
    runs.push(await purchaseRun('postgres'));
    console.error('postgres', runs[2]!.purchase, runs[2]!.statementsPerPurchase);
    runs.push(await purchaseRun('postgres-transactional'));
    console.error('postgres, every sale a transaction', runs[3]!.purchase, runs[3]!.statementsPerPurchase);
  }

  const ipcOverheadMs = +(ipc.sequentialMeanMs - koffiDirect.buyMicros / 1000).toFixed(4);
  const result = {
    started,
    machine: {
      speedProbeMicrosAtStart: speedAtStart,
      loadAverageBefore: loadBefore,
      loadAverageAfter: loadavg().map((x) => +x.toFixed(2)),
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
    },
    settings: {
      cards: CARDS,
      warmupPurchases: WARMUP,
      concurrency: LEVELS,
      maker: MAKER,
      cardType: '4442',
      library: 'stand-in library / 替身库',
      sqlite: 'WAL, synchronous=FULL',
    },
    breakdown: parts,
    durableCommit,
    baselines: {
      bareFastify: bare,
      koffiInProcess: koffiDirect,
      driverHostIpc: { ...ipc, overheadPerCallMs: ipcOverheadMs },
    },
    purchases: runs.map((r) => ({
      database: r.database,
      purchase: r.purchase,
      levels: r.levels,
      stationFlow: r.stationFlow,
      loneSale: r.loneSale,
      statementsPerPurchase: r.statementsPerPurchase,
      issue: r.issue,
      confirm: r.confirm,
      cpuPerPurchaseMs: r.cpuPerPurchaseMs,
      wakeupsPerPurchase: r.wakeupsPerPurchase,
      speedProbeMicros: r.speedProbeMicros,
    })),
    ratios: Object.fromEntries(
      runs.map((r) => [
        r.database,
        {
          purchaseVsBareFastify: +(r.purchase.perSecond / bare.perSecond).toFixed(3),
          purchaseVsKoffiBuy: +(r.purchase.perSecond / koffiDirect.buysPerSecond).toFixed(4),
          loneSaleP50VsBare: +(r.loneSale.p50ms / bare.lone.p50ms).toFixed(2),
        },
      ]),
    ),
    // The IPC target is a ratio to the echo floor, measured by bench/driver-ipc.ts; the overhead here is context.
    targets: ratioTargets(runs, bare),
  };
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', 'card.json'), JSON.stringify(result, null, 2) + '\n');
  writeFileSync(join(ROOT, 'bench', 'results', 'card.md'), markdown(result));
  // Under `meterhub bench` the runner reads this run's figures from here.
  if (process.env.METERHUB_BENCH_OUT)
    writeFileSync(process.env.METERHUB_BENCH_OUT, JSON.stringify(result, null, 2) + '\n');
  console.log(markdown(result));
  agent.destroy();
}

/** The issue's targets, each a ratio to the bare route measured in the same run; `met` follows from the ratio. */
const TARGETS = {
  sqlitePurchaseVsBare: { target: '≥ 0.25', min: 0.25 },
  postgresPurchaseVsBare: { target: '≥ 0.15', min: 0.15 },
  loneSaleP50VsBare: { target: '≤ 3×', max: 3 },
} as const;

function ratioTargets(
  runs: Array<{ database: RunKind; purchase: { perSecond: number }; loneSale: { p50ms: number } }>,
  bare: { perSecond: number; lone: { p50ms: number } },
) {
  const out: Record<string, { target: string; measured: number; met: boolean }> = {};
  for (const r of runs) {
    if (r.database !== 'sqlite' && r.database !== 'postgres') continue;
    const t = r.database === 'sqlite' ? TARGETS.sqlitePurchaseVsBare : TARGETS.postgresPurchaseVsBare;
    const ratio = +(r.purchase.perSecond / bare.perSecond).toFixed(3);
    out[`${r.database}PurchaseVsBare`] = { target: t.target, measured: ratio, met: ratio >= t.min };
    const lone = +(r.loneSale.p50ms / bare.lone.p50ms).toFixed(2);
    out[`${r.database}LoneSaleP50VsBare`] = {
      target: TARGETS.loneSaleP50VsBare.target,
      measured: lone,
      met: lone <= TARGETS.loneSaleP50VsBare.max,
    };
  }
  return out;
}

function markdown(r: any): string {
  const row = (name: string, l: LoadResult) =>
    `| ${name} | ${l.perSecond} | ${l.p50ms} | ${l.p99ms} | ${JSON.stringify(l.statuses)} |`;
  return [
    '# Card purchase benchmark / 购气性能',
    '',
    `Run ${r.started} on ${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memoryGiB} GiB, Node ${r.machine.node}, ${r.machine.platform}.`,
    `${Math.floor(r.settings.cards / 2)} fresh cards per purchase level and for the station flow (after ${r.settings.warmupPurchases} warm-up purchases); ${[r.settings.concurrency].flat().join(', ')} concurrent HTTP clients (keep-alive; the best level is reported, the station flow runs at it), ${r.settings.maker} ${r.settings.cardType}, ${r.settings.library}; SQLite ${r.settings.sqlite}.`,
    'Server in a child process; the load generator in the bench process (same 2 cores).',
    `Load average before/after (1, 5, 15 min): ${r.machine.loadAverageBefore.join(' ')} / ${r.machine.loadAverageAfter.join(' ')} — the machine is shared with other engineers' test runs.`,
    `Speed probe (the same fixed JSON + SHA-256 work, µs per op; higher = slower machine): ${r.machine.speedProbeMicrosAtStart} at the start; ` +
      r.purchases
        .map((p: any) => `${p.database} run ${p.speedProbeMicros?.before} before, ${p.speedProbeMicros?.after} after`)
        .join('; ') +
      '.',
    '',
    '| Scenario | req/s | p50 ms | p99 ms | statuses |',
    '|---|---:|---:|---:|---|',
    row(
      `bare fastify JSON route (baseline), best at ${r.baselines.bareFastify.concurrency} clients`,
      r.baselines.bareFastify,
    ),
    ...r.purchases.flatMap((p: any) => [
      row(`**purchase**, ${p.database}, best at ${p.purchase.concurrency} clients`, p.purchase),
      row(`station flow (read + purchase, per sale), ${p.database}`, p.stationFlow),
      row(`issue, ${p.database}`, p.issue),
      row(`confirm, ${p.database}`, p.confirm),
    ]),
    '',
    '| Library call | value |',
    '|---|---:|',
    `| Buy4442Card in-process (koffi), µs/call | ${r.baselines.koffiInProcess.buyMicros} |`,
    `| Check4442Card in-process (koffi), µs/call | ${r.baselines.koffiInProcess.checkMicros} |`,
    `| Buy through the driver host, sequential mean ms | ${r.baselines.driverHostIpc.sequentialMeanMs} (p50 ${r.baselines.driverHostIpc.p50ms}, p99 ${r.baselines.driverHostIpc.p99ms}) |`,
    `| Check through the driver host, pipelined mean ms | ${r.baselines.driverHostIpc.pipelinedMeanMs} |`,
    `| **IPC overhead per call, ms** (host sequential − in-process) | **${r.baselines.driverHostIpc.overheadPerCallMs}** |`,
    '',
    '| In-process breakdown (same run, concurrency as above) | ms/op | per second |',
    '|---|---:|---:|',
    ...Object.entries(r.breakdown).map(
      ([k, v]: [string, any]) =>
        `| ${k}${v.plugins ? ` (${v.plugins} plugins)` : ''} | ${v.msPerOp} | ${v.perSecond} |`,
    ),
    '',
    'Ratios: ' +
      Object.entries(r.ratios)
        .map(
          ([db, x]: [string, any]) =>
            `${db}: purchase/bare fastify = ${x.purchaseVsBareFastify}, purchase/in-process Buy = ${x.purchaseVsKoffiBuy}`,
        )
        .join('; '),
    '',
    'Targets (same-run ratios): ' +
      Object.entries(r.targets)
        .map(([k, t]: [string, any]) => `${k} ${t.target} → ${t.measured} (${t.met ? 'met' : 'NOT met'})`)
        .join('; ') +
      `. IPC overhead (context; the target is in bench/driver-ipc.ts): ${r.baselines.driverHostIpc.overheadPerCallMs} ms/call.`,
    '',
    `One durable commit of one row, sequential (the floor under a lone sale, which makes two: the sale and its audit row): ${Object.entries(
      r.durableCommit ?? {},
    )
      .map(([k, v]: [string, any]) => `${k} p50 ${v.p50ms} ms`)
      .join(', ')}.`,
    '',
    '| Lone sale (1 client) | p50 ms | p99 ms | bare route p50 ms (1 client) | ratio | statements / commits per purchase |',
    '|---|---:|---:|---:|---:|---|',
    ...r.purchases.map(
      (p: any) =>
        `| ${p.database} | ${p.loneSale.p50ms} | ${p.loneSale.p99ms} | ${r.baselines.bareFastify.lone.p50ms} | ${(p.loneSale.p50ms / r.baselines.bareFastify.lone.p50ms).toFixed(2)} | ${p.loneSale.statementsPerPurchase ? `${p.loneSale.statementsPerPurchase.statements} / ${p.loneSale.statementsPerPurchase.commits}` : '—'} |`,
    ),
    '',
    '| Purchase by concurrency | clients | purchases/s | p50 ms | p99 ms | bare route req/s | CPU ms: server | driver hosts | load generator | wake-ups: server | driver hosts | statements / commits (PostgreSQL) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...r.purchases.flatMap((p: any) =>
      p.levels.map((l: any) => {
        const c = l.cpuPerPurchaseMs ?? {};
        const w = l.wakeupsPerPurchase ?? {};
        const bare = r.baselines.bareFastify.levels?.find((b: any) => b.concurrency === l.concurrency);
        const st = l.statementsPerPurchase;
        return `| ${p.database} | ${l.concurrency} | ${l.perSecond} | ${l.p50ms} | ${l.p99ms} | ${bare?.perSecond ?? '—'} | ${c.server ?? '—'} | ${c.driverHosts ?? '—'} | ${c.loadGenerator ?? '—'} | ${w.server ?? '—'} | ${w.driverHosts ?? '—'} | ${st ? `${st.statements} / ${st.commits}` : '—'} |`;
      }),
    ),
    '',
    "CPU and wake-ups are per purchase over that level's phase, read from /proc; a wake-up is a voluntary context switch",
    '(the process slept, waiting for input, and was woken), summed over all its threads.',
    '',
    "One purchase names its maker (as the station does) = 判卡 by that maker's Check alone (the ledger knows the card under it only;",
    'every enabled 4442 maker one sale in 64) + Read + Buy (3 driver calls to one host, in one pipe write; ReadUsage only when the',
    'card holds gas), a ledger unit (idempotency record included) and an audit append, all durable before the response: on SQLite',
    'both through the one commit queue on the ledger thread (group commit, one fsync per batch); on PostgreSQL one guarded statement',
    'per sale and one per audit batch (postgres-transactional: a transaction of several statements each, the same-run comparison).',
    'In the station flow the read comes first and the purchase reuses its identification (Check is a pure function of the card',
    'image; cached 10 s per image and enabled-plugin set). All three processes share the 2 cores: the server is single-threaded,',
    'so 1 / (server CPU per purchase) bounds the rate, and 2 cores / (total CPU per purchase) bounds it again.',
    'The clients run a closed loop (each sends its next request when the answer comes), so throughput = clients / latency',
    'until the server saturates: too few clients leave it waiting in its commit window, too many only queue.',
    '',
  ].join('\n');
}

await main();
