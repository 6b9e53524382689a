/**
 * Server side of bench/card-purchase.ts, in its own process so the load generator does not share its
 * event loop: `meterhub` = the real server (startServer, rate limit off, log level warn), `bare` = a bare
 * fastify JSON route with the same body shape (the same-run baseline).
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import Fastify from 'fastify';
import pg from 'pg';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { ReadingPipeline } from '../core/readings/pipeline.ts';
import { fakeReading } from '../core/readings/testing/fixtures.ts';
import { startServer } from '../core/server/server.ts';

const [mode, dataDir] = process.argv.slice(2);

if (mode === 'bare') {
  const app = Fastify({ logger: false });
  let n = 0;
  app.post(
    '/echo',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['cardType', 'data', 'cardNo', 'gas'],
          properties: {
            cardType: { type: 'string' },
            data: { type: 'string' },
            cardNo: { type: 'string' },
            gas: { type: 'integer' },
          },
        },
      },
    },
    async (req) => ({ ok: true, n: ++n, cardNo: (req.body as { cardNo: string }).cardNo }),
  );
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  process.stdout.write(`LISTENING ${url}\n`);
} else {
  if (process.env.DATABASE_URL) countStatements();
  if (process.env.MH_BENCH_HOST_PROFILE_DIR) {
    // Only the driver hosts this server starts get the preload, not this process.
    process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --import=${join(import.meta.dirname, 'profile-preload.mjs')}`;
  }
  const s = await startServer({
    port: 0,
    host: '127.0.0.1',
    dataDir: dataDir!,
    rateLimit: false,
    logLevel: 'warn',
    bootstrapToken: false,
    // The same-run comparison: the ledger's commits on the event loop, as before the ledger thread.
    ledgerThread: process.env.MH_BENCH_LEDGER_THREAD !== 'off',
    // The same-run comparison on PostgreSQL: every sale and audit batch a transaction of several statements.
    pgOneStatement: process.env.MH_BENCH_PG_ONE_STATEMENT !== 'off',
  });
  process.stdout.write(`LISTENING ${s.url}\n`);
  // Mixed load (card-purchase --readings-per-second): readings stored on the same database while it sells,
  // and the event-loop delay over the server's whole run, to see main-thread writers wait for the ledger thread.
  const stopMixedLoad = startMixedLoad(s.readings, Number(process.env.MH_BENCH_READINGS_PER_S ?? 0));
  const stop = () => {
    stopMixedLoad();
    void s.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  const profileDir = process.env.MH_BENCH_PROFILE_DIR;
  if (profileDir) profileOnSignal(profileDir);
}

/**
 * PostgreSQL: counts what this process sends, for the figure "statements and commits per purchase". Every
 * pg query is one round trip (node-postgres does not pipeline). A commit is a COMMIT, or a writing statement
 * outside a transaction (autocommit: it waits for its own WAL flush). A line on stdin asks for the counts.
 */
function countStatements(): void {
  const counts = { statements: 0, transactions: 0, commits: 0 };
  const inTx = new WeakSet<object>();
  const proto = pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
  const query = proto.query;
  proto.query = function (this: object, ...a: unknown[]) {
    const text = typeof a[0] === 'string' ? a[0] : ((a[0] as { text?: string } | undefined)?.text ?? '');
    const head = text.trimStart().slice(0, 12).toLowerCase();
    counts.statements++;
    if (head.startsWith('begin')) {
      inTx.add(this);
      counts.transactions++;
    } else if (head.startsWith('commit')) {
      inTx.delete(this);
      counts.commits++;
    } else if (head.startsWith('rollback')) {
      if (!head.startsWith('rollback to')) inTx.delete(this);
    } else if (!inTx.has(this) && /^(insert|update|delete|with)\b/.test(head)) counts.commits++;
    return query.apply(this, a);
  };
  process.stdin.on('data', () => process.stdout.write(`STATS ${JSON.stringify(counts)}\n`));
}

function startMixedLoad(readings: ReadingPipeline, perSecond: number): () => void {
  if (perSecond <= 0) return () => {};
  const eld = monitorEventLoopDelay({ resolution: 5 });
  eld.enable();
  let submitted = 0;
  const timer = setInterval(() => {
    const items = Array.from({ length: Math.max(1, Math.round(perSecond / 20)) }, () => fakeReading(submitted++));
    void readings.submit(items).catch((e: unknown) => process.stderr.write(`reading submit failed: ${String(e)}\n`));
  }, 50);
  return () => {
    clearInterval(timer);
    eld.disable();
    const ms = (ns: number) => (ns / 1e6).toFixed(2);
    process.stderr.write(
      `server event-loop delay ms: p50 ${ms(eld.percentile(50))} p99 ${ms(eld.percentile(99))} max ${ms(eld.max)}; readings submitted ${submitted}\n`,
    );
  };
}

/** SIGUSR2 starts a CPU profile, the next one writes it: a profile of one benchmark phase, not of start-up. */
function profileOnSignal(dir: string): void {
  let session: Session | null = null;
  process.on('SIGUSR2', () => {
    void (async () => {
      if (!session) {
        session = new Session();
        session.connect();
        await session.post('Profiler.enable');
        await session.post('Profiler.start');
        process.stdout.write('PROFILE ON\n');
      } else {
        const { profile } = await session.post('Profiler.stop');
        session.disconnect();
        session = null;
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, `server-${process.pid}.cpuprofile`), JSON.stringify(profile));
        process.stdout.write('PROFILE OFF\n');
      }
    })();
  });
}
