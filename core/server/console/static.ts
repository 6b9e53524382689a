/**
 * Serves the built console (build/console, made by console/build.mjs) at /console.
 *
 * Caching: files under assets/ carry a content hash in their name, so they are immutable for a year;
 * index.html is revalidated on every load (ETag), so a new build is picked up at once.
 * CSP: scripts only from this origin (Vite emits no inline script); styles also inline, because antd writes
 * its CSS-in-JS <style> elements at run time; charts draw on canvas. Nothing is fetched from elsewhere.
 * Precompressed .gz siblings (written by the build) are sent to clients that accept gzip.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export const CONSOLE_PREFIX = '/console';
export const DEFAULT_BUILD_DIR = resolve(import.meta.dirname, '..', '..', '..', 'build', 'console');

export const CONSOLE_CSP = [
  "default-src 'self'",
  "base-uri 'self'",
  "connect-src 'self'",
  "font-src 'self' data:",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "img-src 'self' data: blob:",
  "object-src 'none'",
  "script-src 'self'",
  "script-src-attr 'none'",
  "style-src 'self' 'unsafe-inline'",
  "worker-src 'self' blob:",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

const SAFE_PATH = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;

interface FileEntry {
  body: Buffer;
  gz: Buffer | null;
  etag: string;
  mtimeMs: number;
  size: number;
}

function notBuiltPage(): string {
  return (
    '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>MeterHub 运维控制台</title>' +
    '<body style="font-family:sans-serif;margin:3em"><h1>运维控制台尚未构建 / The ops console is not built</h1>' +
    '<p>请在安装目录运行 <code>node console/build.mjs</code>（<code>npm install</code> 会自动构建）。</p>' +
    '<p>Run <code>node console/build.mjs</code> in the install folder (<code>npm install</code> builds it).</p></body></html>'
  );
}

export function consoleStatic(app: FastifyInstance, o: { buildDir?: string } = {}): void {
  const root = resolve(o.buildDir ?? DEFAULT_BUILD_DIR);
  // Re-read only when the file changed: a rebuild while the server runs is served without a restart.
  const cache = new Map<string, FileEntry>();

  const load = (rel: string): FileEntry | null => {
    const file = resolve(root, rel);
    if (!file.startsWith(root + sep)) return null;
    let st;
    try {
      st = statSync(file);
    } catch {
      return null;
    }
    if (!st.isFile()) return null;
    const hit = cache.get(file);
    if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit;
    const body = readFileSync(file);
    let gz: Buffer | null = null;
    try {
      const gst = statSync(file + '.gz');
      if (gst.isFile() && gst.mtimeMs >= st.mtimeMs) gz = readFileSync(file + '.gz');
    } catch {
      /* no precompressed copy */
    }
    const entry: FileEntry = {
      body,
      gz,
      etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 20)}"`,
      mtimeMs: st.mtimeMs,
      size: st.size,
    };
    cache.set(file, entry);
    return entry;
  };

  const send = (req: FastifyRequest, reply: FastifyReply, rel: string) => {
    reply.header('content-security-policy', CONSOLE_CSP);
    reply.header('x-content-type-options', 'nosniff');
    const isIndex = rel === 'index.html';
    const entry = SAFE_PATH.test(rel) ? load(rel) : null;
    if (!entry) {
      if (isIndex) {
        reply.code(503).header('cache-control', 'no-store').type('text/html; charset=utf-8');
        return reply.send(notBuiltPage());
      }
      reply.code(404).header('cache-control', 'no-store').type('text/plain; charset=utf-8');
      return reply.send('Not found / 未找到');
    }
    reply.header('cache-control', rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    reply.header('etag', entry.etag);
    reply.header('vary', 'accept-encoding');
    reply.type(TYPES[extname(rel).toLowerCase()] ?? 'application/octet-stream');
    if (req.headers['if-none-match'] === entry.etag) return reply.code(304).send();
    const acceptsGzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    if (entry.gz && acceptsGzip) {
      reply.header('content-encoding', 'gzip');
      return reply.send(entry.gz);
    }
    return reply.send(entry.body);
  };

  // Static files are cheap and fetched in bursts on page load: not counted against the per-address API limit.
  const opts = { config: { rateLimit: false }, schema: { hide: true } } as const;
  app.get(CONSOLE_PREFIX, opts, (req, reply) => reply.redirect(`${CONSOLE_PREFIX}/`, 302));
  app.get(`${CONSOLE_PREFIX}/`, opts, (req, reply) => send(req, reply, 'index.html'));
  app.get<{ Params: { '*': string } }>(`${CONSOLE_PREFIX}/*`, opts, (req, reply) => send(req, reply, req.params['*']));
}

/** Where the build writes; used by the build script's callers and tests. */
export function consoleIndexPath(buildDir = DEFAULT_BUILD_DIR): string {
  return join(buildDir, 'index.html');
}
