/**
 * Issue 13 #10: unauthenticated /v1/health disclosed the absolute database path, the ledger key id and
 * per-plugin call counts. Anonymous callers (and tokens that are not ops) now learn only ok/degraded/down.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../api/support.ts';

describe('issue 13 #10: anonymous health says only ok or degraded', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => s?.close());

  it('anonymous and non-ops callers get the status and version only', async () => {
    for (const token of [null, s.tokens.counter, s.tokens.billing]) {
      const h = await s.call('GET', '/v1/health', { token });
      expect(h.status).toBe(200);
      expect(h.body).toEqual({ status: 'ok', version: expect.any(String) });
      expect(h.text).not.toContain(s.db.dir);
      expect(h.text).not.toMatch(/keyId|calls|location/);
    }
  });

  it('ops get the details', async () => {
    const h = await s.call('GET', '/v1/health', { token: s.tokens.ops });
    expect(h.body).toMatchObject({
      status: 'ok',
      database: { ok: true, location: expect.any(String) },
      ledgerKey: { source: expect.any(String) },
    });
    expect(h.body.plugins.length).toBeGreaterThanOrEqual(6);
  });
});
