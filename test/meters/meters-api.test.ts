/**
 * POST /v1/imports/meters (ops only), GET /v1/imports/{id} for a meters batch, GET /v1/meters and
 * GET /v1/meters/{address} (ops and billing): roles, the report, the audit row with the batch id, filters and
 * paging, 404 and 400 — on SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../api/support.ts';
import { auditOfBatch, restDryRunThenImport } from '../golive/import-support.ts';

const content = [
  'address,maker,profile,transport,busPath,busPosition,customerNo,state',
  '31000000000001,chint,chint,serial,/dev/ttyUSB0,1,C-1,active',
  '31000000000002,chint,chint,serial,/dev/ttyUSB0,2,C-2,suspended',
  '31000000000003,chint,nosuch,serial,/dev/ttyUSB0,3,C-3,active',
  '31000000000004,chint,chint,serial,/dev/ttyUSB0,4,C-1,active',
].join('\n');

for (const db of ['sqlite', 'postgres'] as const) {
  describe(`meter registry API (${db})`, () => {
    let s: TestServer;
    beforeAll(async () => {
      s = await startTestServer({ db });
    });
    afterAll(async () => s?.close());

    it('only ops may import; only ops and billing may read the registry', async () => {
      for (const role of ['counter', 'bank', 'billing'] as const) {
        const r = await s.call('POST', '/v1/imports/meters', { token: s.tokens[role], body: { content } });
        expect(r.status, role).toBe(403);
        expect(r.body.error.code).toBe('FORBIDDEN');
      }
      expect((await s.call('POST', '/v1/imports/meters', { token: null, body: { content } })).status).toBe(401);
      expect(await s.db.database.db.selectFrom('meters').selectAll().execute()).toHaveLength(0);
      for (const role of ['counter', 'bank'] as const) {
        expect((await s.call('GET', '/v1/meters', { token: s.tokens[role] })).status, role).toBe(403);
        const one = await s.call('GET', '/v1/meters/31000000000001', { token: s.tokens[role] });
        expect(one.status, role).toBe(403);
      }
      expect((await s.call('GET', '/v1/meters', { token: null })).status).toBe(401);
    });

    it('ops: dry run, then import; the report names the bad row; the batch reads back; the audit has it', async () => {
      const meters = async () => (await s.db.database.db.selectFrom('meters').selectAll().execute()).length;
      const { dry, real } = await restDryRunThenImport(s, 'meters', content, meters);
      expect(dry).toMatchObject({ inserted: 3, invalid: 1 });
      expect(dry.problems).toEqual([
        expect.objectContaining({ line: 4, code: 'IMPORT_PROFILE_UNKNOWN', address: '31000000000003' }),
      ]);
      const r = { body: real };
      expect(r.body).toMatchObject({ inserted: 3, invalid: 1 });
      expect(await meters()).toBe(3);
      const b = await s.call('GET', `/v1/imports/${r.body.batchId}`, { token: s.tokens.ops });
      expect(b.body).toMatchObject({ id: r.body.batchId, kind: 'meters', actor_name: 'ops-t', inserted: 3 });
      expect(b.body.report.problems[0]).toMatchObject({ code: 'IMPORT_PROFILE_UNKNOWN' });
      const audit = await auditOfBatch(s, r.body.batchId);
      expect(audit).toEqual([expect.objectContaining({ route: '/v1/imports/meters', actor: 'ops-t', status: 200 })]);
      const again = await s.call('POST', '/v1/imports/meters', { token: s.tokens.ops, body: { content } });
      expect(again.body).toMatchObject({ inserted: 0, unchanged: 3 });
    });

    it('billing and ops read: one meter, filters, paging; 404 unknown, 400 a bad address or filter', async () => {
      for (const role of ['billing', 'ops'] as const) {
        const one = await s.call('GET', '/v1/meters/31000000000001', { token: s.tokens[role] });
        expect(one.status, role).toBe(200);
        expect(one.body).toMatchObject({
          address: '31000000000001',
          maker: 'chint',
          profile: 'chint',
          transport: 'serial',
          busPath: '/dev/ttyUSB0',
          busPosition: 1,
          customerNo: 'C-1',
          state: 'active',
          importBatchId: expect.stringMatching(/^imp_/),
          importSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
        });
      }
      const t = { token: s.tokens.billing };
      const byCustomer = await s.call('GET', '/v1/meters?customerNo=C-1', t);
      expect(byCustomer.body.items.map((m: { address: string }) => m.address)).toEqual([
        '31000000000001',
        '31000000000004',
      ]);
      const susp = await s.call('GET', '/v1/meters?state=suspended&transport=serial', t);
      expect(susp.body).toEqual({ items: [expect.objectContaining({ address: '31000000000002' })], nextCursor: null });
      const p1 = await s.call('GET', '/v1/meters?limit=2', t);
      expect(p1.body.items).toHaveLength(2);
      expect(p1.body.nextCursor).toBe('31000000000002');
      const p2 = await s.call('GET', `/v1/meters?limit=2&cursor=${p1.body.nextCursor}`, t);
      expect(p2.body).toEqual({ items: [expect.objectContaining({ address: '31000000000004' })], nextCursor: null });
      const missing = await s.call('GET', '/v1/meters/39999999999999', t);
      expect(missing.status).toBe(404);
      expect(missing.body.error.code).toBe('NOT_FOUND');
      expect((await s.call('GET', '/v1/meters/31-bad', t)).status).toBe(400);
      expect((await s.call('GET', '/v1/meters?state=stolen', t)).status).toBe(400);
    });
  });
}
