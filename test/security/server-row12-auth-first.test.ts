/**
 * Issue 13 #12 (the server's part; reading cursors are another change): /metrics answered 403 to an invalid
 * token instead of 401, and GET /v1/ops/meters/x/readings validated its input before it authenticated, telling
 * an anonymous caller about the route. Every role-checked route now authenticates and authorizes first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpsServer, type OpsServer } from '../ops/support.ts';

describe('issue 13 #12: 401 before anything else', () => {
  let s: OpsServer;
  beforeAll(async () => {
    s = await startOpsServer({ startDrivers: false });
  });
  afterAll(async () => s?.close());

  it('/metrics: 401 for no token and for an invalid one, 403 for a valid non-ops token', async () => {
    for (const token of [null, 'mht_not-a-real-token', 'garbage']) {
      const r = await s.call('GET', '/metrics', { token });
      expect(r.status, String(token)).toBe(401);
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    expect((await s.call('GET', '/metrics', { token: s.tokens.counter })).status).toBe(403);
  });

  it('invalid input from an anonymous caller is 401, not 400; from a wrong role 403, not 400', async () => {
    const cases: Array<[string, string, unknown]> = [
      ['GET', '/v1/ops/meters/x/readings?limit=0', undefined],
      ['GET', '/v1/ops/transactions?state=NOPE&limit=99999', undefined],
      ['POST', '/v1/cards/purchase', { cardType: 'nope', gas: -1 }],
      ['POST', '/v1/transactions/not-an-id/confirm', { data: 'zz' }],
      ['GET', '/v1/readings/dead-letters?after=abc', undefined],
    ];
    for (const [m, path, body] of cases) {
      const anon = await s.call(m, path, { token: null, ...(body !== undefined ? { body } : {}) });
      expect(anon.status, `${m} ${path}`).toBe(401);
      const billingOrCounter = path.startsWith('/v1/readings') ? s.tokens.counter : s.tokens.billing;
      const wrong = await s.call(m, path, { token: billingOrCounter, ...(body !== undefined ? { body } : {}) });
      expect(wrong.status, `${m} ${path}`).toBe(403);
    }
    // With the right role the same input is a 400 naming the field.
    const ops = await s.call('GET', '/v1/ops/meters/x/readings', { token: s.tokens.ops });
    expect(ops.status).toBe(400);
    expect(ops.body.error.details.field).toMatch(/params\.id/);
  });
});
