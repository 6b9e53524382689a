/**
 * The counter page (售气界面) at http://127.0.0.1:<port>/: a static page and one small script, no build step
 * and nothing from the network. It holds no secret — the clerk pairs it like any other web client (the key
 * lives in the page's own localStorage) — so the station serves it without a key. A strict CSP keeps
 * injected script out of the one page that may hold a pairing key.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';

const DIR = join(import.meta.dirname, 'counter-page');
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function registerCounterPage(app: FastifyInstance, o: { training: boolean }): void {
  const files: Record<string, { type: string; body: string }> = {
    '/': {
      type: 'text/html; charset=utf-8',
      body: readFileSync(join(DIR, 'index.html'), 'utf8').replace(
        'data-training="0"',
        `data-training="${o.training ? 1 : 0}"`,
      ),
    },
    '/counter.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(join(DIR, 'counter.js'), 'utf8') },
    '/counter.css': { type: 'text/css; charset=utf-8', body: readFileSync(join(DIR, 'counter.css'), 'utf8') },
  };
  for (const [path, f] of Object.entries(files)) {
    app.get(path, { schema: { hide: true } }, async (_req, reply) =>
      reply
        .header('content-type', f.type)
        .header('content-security-policy', CSP)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .header('cache-control', 'no-store')
        .send(f.body),
    );
  }
}
