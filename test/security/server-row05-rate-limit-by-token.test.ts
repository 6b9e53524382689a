/**
 * Issue 13 #5: the rate limit was keyed on the raw Authorization header, so `bearer T`, `BEARER T` and
 * `Bearer  T` each got a fresh bucket, and every random junk token got its own bucket and cost a database
 * lookup plus an audit row (700 junk calls = 700 × 401, no 429). Now: buckets per resolved token id; every
 * caller without a valid token shares one small bucket per address; refusals are tallied in the audit.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../api/support.ts';

describe('issue 13 #5: rate limits by token id; junk shares one small bucket and one audit row', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ rateLimit: { max: 6, timeWindow: 60_000, anonymousMax: 4 } });
  });
  afterAll(async () => s?.close());

  it('spelling the header differently does not open a new bucket', async () => {
    const t = s.tokens.counter;
    const spellings = [
      `Bearer ${t}`,
      `bearer ${t}`,
      `BEARER ${t}`,
      `Bearer  ${t}`,
      `bEaReR ${t}`,
      `Bearer\t${t}`,
      `bearer ${t}`,
      `BEARER ${t}`,
    ];
    const codes: number[] = [];
    for (const authorization of spellings)
      codes.push((await s.call('GET', '/v1/makers', { token: null, headers: { authorization } })).status);
    expect(codes).toEqual([200, 200, 200, 200, 200, 200, 429, 429]);
    // Another token is not affected.
    expect((await s.call('GET', '/v1/makers', { token: s.tokens.ops })).status).toBe(200);
  });

  it('junk tokens share one small bucket per address and leave one tallied audit row, not one each', async () => {
    const junk = () => `mht_${randomBytes(32).toString('base64url')}`;
    const codes: number[] = [];
    for (let i = 0; i < 30; i++) {
      const authorization =
        i % 3 === 0
          ? `Bearer ${junk()}`
          : i % 3 === 1
            ? `Bearer garbage-${i}`
            : `Basic ${randomBytes(8).toString('hex')}`;
      codes.push((await s.call('GET', '/v1/makers', { token: null, headers: { authorization } })).status);
    }
    expect(codes.slice(0, 4)).toEqual([401, 401, 401, 401]);
    expect(codes.slice(4).every((c) => c === 429)).toBe(true);
    // No token at all is the same caller class: same bucket, already empty.
    expect((await s.call('GET', '/v1/makers', { token: null })).status).toBe(429);
    // A valid token from the same address still works: its bucket is its own.
    expect((await s.call('GET', '/v1/makers', { token: s.tokens.bank })).status).toBe(200);

    await s.app.meterhub.refusals.flush();
    await s.app.meterhub.audit.flush();
    const rows = await s.db.database.db.selectFrom('audit_log').selectAll().where('actor', 'is', null).execute();
    // One row per address and status for the window: 401 ×4 and 429 ×27, not 31 rows.
    expect(rows).toHaveLength(2);
    const byStatus = Object.fromEntries(rows.map((r) => [r.status, Number(r.call_count)]));
    expect(byStatus).toEqual({ 401: 4, 429: 27 });
    expect(JSON.stringify(rows)).not.toMatch(/mht_|garbage/);
    expect(await s.app.meterhub.audit.verify()).toMatchObject({ ok: true });
  });
});
