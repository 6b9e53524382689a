/**
 * Tokens and card passwords never reach the logs: every line the server writes during real card work
 * (at trace level, request headers included) is captured and searched for them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../core/server/server.ts';
import { TokenStore } from '../../core/auth/token-store.ts';
import { faultPlugin, freshCardNo, removeDir, startTestServer, type TestServer } from './support.ts';
import { meterWriteBack } from '../../core/testing/stand-in-meter.ts';
import { waitUntil } from '../../core/testing/work-budget.ts';

/**
 * Every request's "request completed" line is written once its response has gone out, which can be after the
 * client has read the answer; on a loaded machine a fixed sleep was a race. Wait for the count instead.
 */
const allRequestsLogged = (lines: string[]) => () =>
  lines.filter((l) => l.includes('"msg":"request completed"')).length >=
  lines.filter((l) => l.includes('"msg":"incoming request"')).length;

describe('log redaction', () => {
  const lines: string[] = [];
  let s: TestServer;
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        cb();
      },
    });
    // A plain caller-supplied logger: the app must add the redaction itself.
    s = await startTestServer({ logger: pino({ level: 'trace' }, sink) });
  });
  afterAll(async () => s?.close());

  it('no token, oldKey or newKey value appears in any log line', async () => {
    const secrets = new Set<string>(Object.values(s.tokens));
    for (const cardType of ['4442', '102'] as const) {
      const cardNo = freshCardNo();
      const issue = await s.call('POST', '/v1/cards/issue', {
        token: s.tokens.counter,
        idem: `red-${cardNo}`,
        body: { maker: 'kingcard', cardType, cardNo, gas: 3, meterKind: 1 },
      });
      expect(issue.status).toBe(201);
      await s.call('POST', `/v1/transactions/${issue.body.transactionId}/confirm`, {
        token: s.tokens.counter,
        body: { data: issue.body.data },
      });
      const card = meterWriteBack('kingcard', cardType, issue.body.data);
      const p = await s.call('POST', '/v1/cards/purchase', {
        token: s.tokens.bank,
        body: { cardType, data: card, cardNo, gas: 4 },
      });
      expect(p.status).toBe(201);
      const id = await s.call('POST', '/v1/cards/identify', {
        token: s.tokens.counter,
        body: { cardType, data: card },
      });
      for (const v of [issue.body.oldKey, issue.body.newKey, p.body.oldKey, p.body.newKey, id.body.oldKey])
        if (v) secrets.add(v);
      // Errors too: a refused request with a token.
      await s.call('POST', '/v1/cards/purchase', {
        token: s.tokens.counter,
        body: { cardType, data: card, cardNo, gas: 4 },
      });
    }
    // Something logging a key object directly is censored as well.
    s.app.log.info(
      { write: { oldKey: 'ABC123', newKey: 'DEF456' }, token: 'mht_direct' },
      'direct log of a card write',
    );
    secrets.add('ABC123');
    secrets.add('DEF456');
    secrets.add('mht_direct');
    await waitUntil(allRequestsLogged(lines), 'every request logged as completed');

    expect(lines.length).toBeGreaterThan(20);
    const all = lines.join('\n');
    // The header is logged, but censored.
    expect(lines.some((l) => /"authorization":"\[REDACTED\]"/.test(l))).toBe(true);
    expect(lines.some((l) => l.includes('direct log of a card write') && l.includes('"oldKey":"[REDACTED]"'))).toBe(
      true,
    );
    for (const secret of secrets) {
      // 4-hex 102 keys could collide with other hex in a log line; search them as JSON values only.
      const needle = secret.length <= 6 ? `"${secret}"` : secret;
      expect(all.includes(needle), `secret ${secret.slice(0, 6)}… found in logs`).toBe(false);
    }
    expect(all).not.toMatch(/mht_[A-Za-z0-9_-]{20,}/);
  });
});

/**
 * The same on the `meterhub serve` path (startServer: the plugin host and its driver hosts log through the
 * same logger), including a driver that crashes mid-request and a caller-supplied X-Request-Id.
 */
describe('log redaction on the serve path, with a crashing driver', () => {
  const serveLines: string[] = [];
  let server: RunningServer;
  let tokens: { counter: string; ops: string };
  let faultDir: string;
  let dataDir: string;
  const call = async (
    method: string,
    path: string,
    token: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const res = await fetch(server.url + path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as any };
  };
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _enc, cb) {
        serveLines.push(...String(chunk).split('\n').filter(Boolean));
        cb();
      },
    });
    faultDir = faultPlugin('segv', 'fault-segv', ['102']);
    dataDir = mkdtempSync(join(tmpdir(), 'mh-redact-serve-'));
    server = await startServer({
      port: 0,
      dataDir,
      pluginPaths: [faultDir],
      bootstrapToken: false,
      rateLimit: false,
      logger: pino({ level: 'trace' }, sink),
    });
    const store = new TokenStore(server.database);
    tokens = {
      counter: (await store.create('counter-r', 'counter')).token,
      ops: (await store.create('ops-r', 'ops')).token,
    };
    await server.pluginHost.enable('fault-segv');
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    removeDir(faultDir);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('no token or card key appears, even when the driver host dies during the request', async () => {
    const secrets = new Set<string>(Object.values(tokens));
    const cardNo = freshCardNo();
    const issue = await call(
      'POST',
      '/v1/cards/issue',
      tokens.counter,
      { maker: 'kingcard', cardType: '4442', cardNo, gas: 3, meterKind: 1 },
      { 'idempotency-key': `rs-${cardNo}` },
    );
    expect(issue.status).toBe(201);
    await call('POST', `/v1/transactions/${issue.body.transactionId}/confirm`, tokens.counter, {
      data: issue.body.data,
    });
    const card = meterWriteBack('kingcard', '4442', issue.body.data);
    const p = await call(
      'POST',
      '/v1/cards/purchase',
      tokens.counter,
      { cardType: '4442', data: card, cardNo, gas: 4 },
      { 'x-request-id': 'sale-under-test' },
    );
    expect(p.status).toBe(201);
    expect(p.headers.get('x-request-id')).toBe('sale-under-test');
    for (const v of [issue.body.oldKey, issue.body.newKey, p.body.oldKey, p.body.newKey]) if (v) secrets.add(v);

    // A 102 card on the segfaulting fault build: the issue returns keys, the confirm's read-back crashes the host.
    const faultCardNo = freshCardNo();
    const fi = await call(
      'POST',
      '/v1/cards/issue',
      tokens.counter,
      { maker: 'fault-segv', cardType: '102', cardNo: faultCardNo, gas: 2, meterKind: 1 },
      { 'idempotency-key': `rf-${faultCardNo}` },
    );
    expect(fi.status).toBe(201);
    for (const v of [fi.body.oldKey, fi.body.newKey]) if (v) secrets.add(v);
    const crash = await call(
      'POST',
      `/v1/transactions/${fi.body.transactionId}/confirm`,
      tokens.counter,
      { data: fi.body.data },
      { 'x-request-id': 'confirm-crash' },
    );
    expect(crash.status).toBe(503);
    expect(crash.body.error.code).toBe('DRIVER_CRASHED');
    // The supervisor logs the host's death from the child's exit event, which can come after the 503 went out.
    await waitUntil(
      () => serveLines.some((l) => l.includes('driver host died')) && allRequestsLogged(serveLines)(),
      'the host death and every request logged',
    );

    const all = serveLines.join('\n');
    // The crash is in the logs (driver side and request side), the secrets are not.
    expect(serveLines.some((l) => l.includes('driver host died') && l.includes('fault-segv'))).toBe(true);
    expect(serveLines.some((l) => l.includes('"reqId":"confirm-crash"') && l.includes('DRIVER_CRASHED'))).toBe(true);
    expect(serveLines.some((l) => l.includes('"reqId":"sale-under-test"'))).toBe(true);
    expect(serveLines.some((l) => /"authorization":"\[REDACTED\]"/.test(l))).toBe(true);
    for (const secret of secrets) {
      const needle = secret.length <= 6 ? `"${secret}"` : secret;
      expect(all.includes(needle), `secret ${secret.slice(0, 6)}… found in logs`).toBe(false);
    }
    expect(all).not.toMatch(/mht_[A-Za-z0-9_-]{20,}/);
  }, 60_000);
});
