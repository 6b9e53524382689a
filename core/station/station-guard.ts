/**
 * The guards in front of the station's local API. Any web page open on the counter PC can reach 127.0.0.1,
 * so every request passes, in this order (threat model: docs/station.md §9):
 *  1. Host — only this station's own loopback names (127.0.0.1, localhost, [::1] with its port): a
 *     DNS-rebound page names its own host and gets 421 before any route runs.
 *  2. Origin — a browser request from a page must come from the station's own page or an origin on the
 *     allow-list (--allow-origin); CORS headers and preflights are answered for those origins only.
 *  3. Pairing key — every call that reads or changes a card carries `Authorization: Bearer mhs_…`. A page
 *     cannot send that header cross-origin without a preflight, so a `no-cors` POST does nothing.
 *  4. Clerk — calls that change a card name the clerk (X-MeterHub-Clerk); the central server records it.
 * The page, its script, the OpenAPI document and /v1/station/health need no key: they hold nothing secret.
 * The WebSocket passes 1 and 2 on the upgrade and 3 with its first message (browsers cannot set headers).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CLERK_RE, runAsClerk } from './clerk-context.ts';
import type { PairingStore } from './station-pairing.ts';
import { StationBadHost, StationClerkRequired, StationNotPaired, StationOriginRefused } from './station-errors.ts';

export interface GuardOptions {
  pairing: PairingStore;
  /** Extra origins allowed to call the station from a browser (the company's web app). */
  allowOrigins: string[];
  /** The listening port, known once the server listens (port 0 in tests). */
  port: () => number;
}

/** Paths anyone on the PC may read: the counter page, its files, the API description, the bare status. */
const OPEN = [/^\/$/, /^\/counter\.(js|css)$/, /^\/docs(\/|$)/, /^\/v1\/station\/health$/];
const CORS_HEADERS = 'authorization, content-type, x-meterhub-clerk';

export function ownHosts(port: number): string[] {
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
}

export function ownOrigins(port: number): string[] {
  return ownHosts(port).map((h) => `http://${h}`);
}

/** Normalises an --allow-origin value: scheme://host[:port], no path; throws on anything else. */
export function parseOrigin(s: string): string {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new Error(`--allow-origin ${JSON.stringify(s)} is not an origin (scheme://host[:port]) / 不是有效的来源`);
  }
  if (
    !['http:', 'https:'].includes(u.protocol) ||
    (u.pathname !== '/' && u.pathname !== '') ||
    u.search ||
    u.hash ||
    u.username
  ) {
    throw new Error(
      `--allow-origin ${JSON.stringify(s)} must be scheme://host[:port] with no path / 只写协议、主机和端口`,
    );
  }
  return u.origin;
}

export function bearerKey(req: FastifyRequest): string | null {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return null;
  const m = /^Bearer ([^\s]+)$/.exec(h);
  return m ? m[1]! : null;
}

const clerkOf = new WeakMap<FastifyRequest, string | null>();
const isWrite = (req: FastifyRequest) => req.method !== 'GET' && req.method !== 'HEAD';

export function registerStationGuards(
  app: FastifyInstance,
  o: GuardOptions,
): {
  allowed(origin: string): boolean;
} {
  const allowOrigins = o.allowOrigins.map(parseOrigin);
  const allowed = (origin: string) => ownOrigins(o.port()).includes(origin) || allowOrigins.includes(origin);

  app.addHook('onRequest', (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
    const host = req.headers.host ?? '';
    if (!ownHosts(o.port()).includes(host.toLowerCase())) return done(StationBadHost({ host: host.slice(0, 100) }));
    const origin = req.headers.origin;
    if (origin !== undefined) {
      if (!allowed(origin)) return done(StationOriginRefused({ origin: origin.slice(0, 200) }));
      reply.header('access-control-allow-origin', origin);
      reply.header('vary', 'Origin');
    }
    if (req.method === 'OPTIONS') {
      // A preflight from an allowed origin (the refused ones stopped above). Chrome asks public sites for
      // permission to reach a private address (Private Network Access); an allowed origin gets it.
      reply.header('access-control-allow-methods', 'GET, POST');
      reply.header('access-control-allow-headers', CORS_HEADERS);
      reply.header('access-control-max-age', '600');
      if (req.headers['access-control-request-private-network'] === 'true')
        reply.header('access-control-allow-private-network', 'true');
      reply.code(204).send();
      return;
    }
    const path = req.url.split('?')[0]!;
    if (OPEN.some((re) => re.test(path))) return done();
    // The event WebSocket proves itself with its first message (browsers cannot add headers to it).
    if (path === '/v1/station/events' && req.headers.upgrade?.toLowerCase() === 'websocket') return done();
    if (!o.pairing.verify(bearerKey(req))) return done(StationNotPaired({}));
    const clerk = req.headers['x-meterhub-clerk'];
    if (clerk !== undefined && (typeof clerk !== 'string' || !CLERK_RE.test(clerk)))
      return done(StationClerkRequired({ field: 'x-meterhub-clerk' }));
    if (clerk === undefined && isWrite(req)) return done(StationClerkRequired({ field: 'x-meterhub-clerk' }));
    clerkOf.set(req, typeof clerk === 'string' ? clerk : null);
    done();
  });
  // A refused WebSocket upgrade must not leave its socket open: it is outside the HTTP server's keep-alive
  // handling, and a page could hold such sockets (and the station's shutdown) open at will.
  app.addHook('onResponse', (req: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void) => {
    if (req.headers.upgrade) req.raw.socket?.end();
    done();
  });
  // Every call the handler makes to the central server carries the clerk. Entered after the body is parsed:
  // the body's stream events would run outside a context entered any earlier.
  app.addHook('preHandler', (req: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void) => {
    runAsClerk(clerkOf.get(req) ?? null, () => done());
  });

  return { allowed };
}
