/**
 * Request ids: a caller's X-Request-Id (a plain token) is used for the request — in every log line of the
 * request, in the audit row, and in the X-Request-Id response header; anything else gets a fresh UUID.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestIdFor } from '../../core/server/app.ts';
import { startOpsServer, type OpsServer } from './support.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const lines: Array<Record<string, unknown>> = [];
let s: OpsServer;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _e, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  s = await startOpsServer({ logger: pino({ level: 'info' }, sink), requiredPlugins: [] });
}, 60_000);
afterAll(async () => s?.close());

describe('X-Request-Id', () => {
  it('is taken from the caller, logged on every line of the request, audited and returned', async () => {
    const id = `counter-07:${Date.now()}`;
    const r = await s.call('GET', '/v1/makers', { token: s.tokens.counter, headers: { 'x-request-id': id } });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-request-id')).toBe(id);
    await new Promise((res) => setTimeout(res, 50));
    const mine = lines.filter((l) => l.reqId === id);
    expect(mine.map((l) => l.msg)).toEqual(expect.arrayContaining(['incoming request', 'request completed']));
    const audit = await s.server.database.db
      .selectFrom('audit_log')
      .select(['request_id', 'path', 'status'])
      .where('request_id', '=', id)
      .execute();
    expect(audit).toEqual([{ request_id: id, path: '/v1/makers', status: 200 }]);
  });

  it('an error answer carries it too', async () => {
    const id = 'retry-of-sale-42';
    const r = await s.call('POST', '/v1/cards/purchase', {
      token: s.tokens.counter,
      headers: { 'x-request-id': id },
      body: { cardType: '4442' },
    });
    expect(r.status).toBe(400);
    expect(r.headers.get('x-request-id')).toBe(id);
    await new Promise((res) => setTimeout(res, 50));
    expect(lines.some((l) => l.reqId === id && l.msg === 'request refused')).toBe(true);
  });

  it('without one, or with one that is not a plain token, the server makes a UUID', async () => {
    const none = await s.call('GET', '/v1/health', { token: null });
    expect(none.headers.get('x-request-id')).toMatch(UUID);
    for (const bad of ['x'.repeat(200), 'has space', 'quote"inject', '']) {
      const r = await s.call('GET', '/v1/health', { token: null, headers: { 'x-request-id': bad } });
      expect(r.headers.get('x-request-id')).toMatch(UUID);
    }
    expect(requestIdFor(['a', 'b'])).toMatch(UUID);
    expect(requestIdFor('ok-1.2:3@x')).toBe('ok-1.2:3@x');
  });
});
