/**
 * Server side of bench/card-purchase.ts, in its own process so the load generator does not share its
 * event loop: `meterhub` = the real server (startServer, rate limit off, log level warn), `bare` = a bare
 * fastify JSON route with the same body shape (the same-run baseline).
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import Fastify from 'fastify';
import { startServer } from '../core/api/server.ts';

const [mode, dataDir] = process.argv.slice(2);

if (mode === 'bare') {
  const app = Fastify({ logger: false });
  let n = 0;
  app.post('/echo', {
    schema: {
      body: {
        type: 'object', additionalProperties: false, required: ['cardType', 'data', 'cardNo', 'gas'],
        properties: { cardType: { type: 'string' }, data: { type: 'string' }, cardNo: { type: 'string' }, gas: { type: 'integer' } },
      },
    },
  }, async (req) => ({ ok: true, n: ++n, cardNo: (req.body as { cardNo: string }).cardNo }));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  process.stdout.write(`LISTENING ${url}\n`);
} else {
  if (process.env.MH_BENCH_HOST_PROFILE_DIR) {
    // Only the driver hosts this server starts get the preload, not this process.
    process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --import=${join(import.meta.dirname, 'profile-preload.mjs')}`;
  }
  const s = await startServer({ port: 0, host: '127.0.0.1', dataDir: dataDir!, rateLimit: false, logLevel: 'warn', bootstrapToken: false,
    // The same-run comparison: the ledger's commits on the event loop, as before the ledger thread.
    ledgerThread: process.env.MH_BENCH_LEDGER_THREAD !== 'off',
  });
  process.stdout.write(`LISTENING ${s.url}\n`);
  const stop = () => { void s.close().then(() => process.exit(0)); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  const profileDir = process.env.MH_BENCH_PROFILE_DIR;
  if (profileDir) profileOnSignal(profileDir);
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
