/**
 * Issue 13 #9: no server timeouts and no connection cap — ten sockets trickling a header or a body stayed open
 * indefinitely. Now headersTimeout, requestTimeout and keepAliveTimeout are set and sockets are capped (all
 * configurable; small limits here). Asserts on closure and what the server answered, never on wall time.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpLimits } from '../../core/server/http-limits.ts';
import { startTestServer, type TestServer } from '../api/support.ts';

interface Probe {
  socket: Socket;
  closed: Promise<string>;
}

/** A socket that writes `first`, then `drip` every 50 ms until the server closes it; resolves with what it got. */
function slowSocket(url: string, first: string, drip: string): Probe {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let got = '';
  let timer: NodeJS.Timeout | undefined;
  socket.on('connect', () => {
    socket.write(first);
    timer = setInterval(() => {
      if (!socket.destroyed) socket.write(drip);
    }, 50);
  });
  socket.on('data', (d) => {
    got += d.toString('latin1');
  });
  socket.on('error', () => {
    /* a reset is a close too */
  });
  const closed = new Promise<string>((resolve) =>
    socket.on('close', () => {
      clearInterval(timer);
      resolve(got);
    }),
  );
  return { socket, closed };
}

describe('issue 13 #9: slow sockets are closed, connections are capped', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({
      config: { http: { headersTimeoutMs: 400, requestTimeoutMs: 800, keepAliveTimeoutMs: 300, maxConnections: 12 } },
    });
  });
  afterAll(async () => s?.close());

  it('ten sockets trickling a header or a body are answered 408 and closed', async () => {
    const probes: Probe[] = [];
    for (let i = 0; i < 5; i++)
      probes.push(slowSocket(s.url, 'GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n', 'X-Slow: 1\r\n'));
    for (let i = 0; i < 5; i++) {
      probes.push(
        slowSocket(
          s.url,
          'POST /v1/cards/identify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2000\r\n\r\n{"a":"',
          'x',
        ),
      );
    }
    const answers = await Promise.all(probes.map((p) => p.closed));
    for (const a of answers) expect(a).toMatch(/^HTTP\/1\.1 408 /);
    // The server still serves.
    expect((await s.call('GET', '/v1/health', { token: null })).status).toBe(200);
  }, 30_000);

  it('an idle keep-alive socket is closed after its request', async () => {
    const p = slowSocket(s.url, 'GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', '');
    const got = await p.closed;
    expect(got).toMatch(/^HTTP\/1\.1 200 /);
  }, 30_000);

  it('sockets beyond maxConnections are dropped without an answer', async () => {
    const held: Probe[] = [];
    for (let i = 0; i < 12; i++)
      held.push(slowSocket(s.url, 'GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n', 'X-Slow: 1\r\n'));
    await Promise.all(held.map((p) => new Promise((r) => p.socket.once('connect', r))));
    const extra = slowSocket(s.url, 'GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', '');
    expect(await extra.closed).toBe('');
    // The held ones were all answered (408 when their head timed out), not dropped.
    for (const a of await Promise.all(held.map((p) => p.closed))) expect(a).toMatch(/^HTTP\/1\.1 408 /);
  }, 30_000);

  it('the defaults are finite and the head is due no later than the whole request', () => {
    const d = httpLimits();
    expect(d).toEqual({
      headersTimeoutMs: 15_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 65_000,
      maxConnections: 1024,
    });
    expect(httpLimits({ headersTimeoutMs: 9_000, requestTimeoutMs: 5_000 }).headersTimeoutMs).toBe(5_000);
    expect(() => httpLimits({ maxConnections: 0 })).toThrow(/maxConnections/);
  });
});
