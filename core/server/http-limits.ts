/**
 * Slow clients and connection floods. Node's defaults let a socket trickle its headers for 60 s and its body
 * for 300 s, and accept any number of sockets: ten slowloris sockets stayed open indefinitely. Every limit is
 * configurable (`meterhub serve --headers-timeout-ms …` or METERHUB_* env, see core/config/settings.ts).
 *
 *  - headersTimeoutMs: the whole request head must arrive within this time (then 408 and close);
 *  - requestTimeoutMs: the whole request, body included, must arrive within this time (receiving only: a
 *    long card call or conformance run after the body arrived is not cut);
 *  - keepAliveTimeoutMs: an idle keep-alive socket is closed after this. Behind nginx it must be longer than
 *    nginx's upstream `keepalive_timeout` (60 s by default), or nginx may send a sale on a socket Node is
 *    closing and answer 502: hence 65 s;
 *  - maxConnections: sockets beyond this are refused at accept (closed at once), so a flood cannot exhaust
 *    file descriptors or memory.
 */
import type { Server } from 'node:http';

export interface HttpLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  headersTimeoutMs: 15_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 65_000,
  maxConnections: 1024,
};

export function httpLimits(o: Partial<HttpLimits> = {}): HttpLimits {
  const l = { ...DEFAULT_HTTP_LIMITS, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) };
  for (const [k, v] of Object.entries(l)) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${k} must be a positive whole number, got ${String(v)}`);
  }
  // Node requires the head to be due no later than the whole request.
  if (l.headersTimeoutMs > l.requestTimeoutMs) l.headersTimeoutMs = l.requestTimeoutMs;
  return l;
}

/** Options for Fastify(): the timeouts, and how often Node looks for sockets past them. */
export function fastifyHttpOptions(l: HttpLimits) {
  // Node checks the timeouts on an interval (default 30 s): a fraction of the shortest limit, so a slow socket
  // is closed close to its limit, not up to 30 s after it.
  const check = Math.min(30_000, Math.max(25, Math.floor(Math.min(l.headersTimeoutMs, l.requestTimeoutMs) / 4)));
  return {
    requestTimeout: l.requestTimeoutMs,
    keepAliveTimeout: l.keepAliveTimeoutMs,
    http: { headersTimeout: l.headersTimeoutMs, connectionsCheckingInterval: check },
  };
}

export function applyConnectionCap(server: Server, l: HttpLimits): void {
  server.maxConnections = l.maxConnections;
}
