/**
 * POST /v1/imports/cards and GET /v1/imports/{id}: ops only (every other role 403, no token 401); the report is the
 * CLI's; the batch id lands in the audit row of the call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../api/support.ts';
import { auditOfBatch, restDryRunThenImport } from './import-support.ts';

describe('import API', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => s?.close());

  const content =
    'maker,cardType,cardNo,count,state\nkingcard,4442,55000001,4,active\nkingcard,4442,55000002,40000,active\n';

  it('only ops may import or read a batch', async () => {
    for (const role of ['counter', 'bank', 'billing'] as const) {
      const r = await s.call('POST', '/v1/imports/cards', { token: s.tokens[role], body: { content, dryRun: true } });
      expect(r.status, role).toBe(403);
      expect(r.body.error.code).toBe('FORBIDDEN');
      expect((await s.call('GET', '/v1/imports/imp_x', { token: s.tokens[role] })).status, role).toBe(403);
    }
    expect((await s.call('POST', '/v1/imports/cards', { token: null, body: { content } })).status).toBe(401);
    const cards = await s.db.database.db.selectFrom('ledger_cards').selectAll().execute();
    expect(cards).toHaveLength(0);
  });

  it('ops: dry run, then import; the report names the bad row; the audit row carries the batch id', async () => {
    const cards = async () => (await s.db.database.db.selectFrom('ledger_cards').selectAll().execute()).length;
    const { dry, real } = await restDryRunThenImport(s, 'cards', content, cards);
    expect(dry).toMatchObject({ inserted: 1, invalid: 1 });
    expect(dry.problems).toEqual([
      expect.objectContaining({ line: 3, code: 'IMPORT_COUNT_OUT_OF_RANGE', cardNo: '55000002' }),
    ]);
    const r = { body: real };
    expect(r.body).toMatchObject({ inserted: 1, invalid: 1 });
    const card = await s.call('GET', '/v1/cards/kingcard/55000001', { token: s.tokens.counter });
    expect(card.body).toMatchObject({ count: 4, status: 'active' });
    const b = await s.call('GET', `/v1/imports/${r.body.batchId}`, { token: s.tokens.ops });
    expect(b.body).toMatchObject({
      id: r.body.batchId,
      source_sha256: r.body.sourceSha256,
      actor_name: 'ops-t',
      inserted: 1,
    });
    expect(b.body.report.problems[0]).toMatchObject({ code: 'IMPORT_COUNT_OUT_OF_RANGE' });
    const audit = await auditOfBatch(s, r.body.batchId);
    expect(audit).toEqual([expect.objectContaining({ route: '/v1/imports/cards', actor: 'ops-t', status: 200 })]);

    const again = await s.call('POST', '/v1/imports/cards', { token: s.tokens.ops, body: { content } });
    expect(again.body).toMatchObject({ inserted: 0, unchanged: 1 });
    expect((await s.call('GET', '/v1/imports/imp_nope', { token: s.tokens.ops })).status).toBe(404);
  });
});
