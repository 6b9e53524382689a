/**
 * Server side of bench/card-purchase.ts, in its own process so the load generator does not share its
 * event loop: `meterhub` = the real server (startServer, rate limit off, log level warn), `bare` = a bare
 * fastify JSON route with the same body shape (the same-run baseline).
 */
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
  const s = await startServer({ port: 0, host: '127.0.0.1', dataDir: dataDir!, rateLimit: false, logLevel: 'warn', bootstrapToken: false });
  process.stdout.write(`LISTENING ${s.url}\n`);
  const stop = () => { void s.close().then(() => process.exit(0)); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
