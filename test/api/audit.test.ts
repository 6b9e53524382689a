/**
 * Every API call lands in the tamper-evident audit chain; `meterhub audit verify` proves it intact and
 * names the first bad row after an edit, a deletion or a cut tail.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../core/audit/audit-log.ts';
import { freshCardNo, ROOT, startTestServer, type TestServer } from './support.ts';

function cli(args: string[]) {
  const env = { ...process.env };
  delete env.DATABASE_URL;
  return spawnSync(process.execPath, [join(ROOT, 'bin', 'meterhub.mjs'), ...args], {
    encoding: 'utf8',
    env,
    timeout: 60_000,
  });
}

describe('audit chain', () => {
  let s: TestServer;
  let audit: AuditLog;
  beforeAll(async () => {
    s = await startTestServer();
    audit = s.app.meterhub.audit;
  });
  afterAll(async () => s?.close());

  it('records who called what, with the transaction and idempotency key, and verifies', async () => {
    const cardNo = freshCardNo();
    const r = await s.call('POST', '/v1/cards/issue', {
      token: s.tokens.counter,
      idem: 'audit-k1',
      body: { maker: 'kingcard', cardType: '4442', cardNo, gas: 1, meterKind: 1 },
      headers: { 'x-meterhub-channel': 'counter-07' },
    });
    expect(r.status).toBe(201);
    await s.call('GET', '/v1/makers', { token: s.tokens.bank });
    await s.call('GET', '/v1/makers', { token: null });
    await s.call('GET', '/v1/health', { token: null });
    // Refused unauthenticated calls are tallied: one row per address and window, written on flush.
    await s.app.meterhub.refusals.flush();
    await audit.flush();
    const rows = await s.db.database.db.selectFrom('audit_log').selectAll().orderBy('seq').execute();
    expect(rows.length).toBeGreaterThanOrEqual(3);
    expect(rows.find((x) => x.path === '/v1/cards/issue')).toMatchObject({
      actor: 'counter-t',
      role: 'counter',
      channel: 'counter-07',
      method: 'POST',
      status: 201,
      tx_id: r.body.transactionId,
      idem_key: 'audit-k1',
    });
    expect(rows.find((x) => x.actor === null && x.path === '/v1/makers')).toMatchObject({ status: 401, call_count: 1 });
    expect(rows.some((x) => x.path === '/v1/health')).toBe(false);
    expect(JSON.stringify(rows)).not.toMatch(/mht_/);
    expect(await audit.verify()).toMatchObject({ ok: true, rows: rows.length });
    const out = cli(['audit', 'verify', '--data', s.db.dir]);
    expect(out.status, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/audit chain OK/);
  });

  it('an edited row is detected and named (API and CLI exit 1)', async () => {
    for (let i = 0; i < 5; i++) await s.call('GET', '/v1/makers', { token: s.tokens.counter });
    await audit.flush();
    const db = s.db.database.db;
    const victim = (await db.selectFrom('audit_log').select(['seq', 'status']).orderBy('seq').execute())[2]!;
    await db
      .updateTable('audit_log')
      .set({ status: 200, actor: 'someone-else' })
      .where('seq', '=', victim.seq)
      .execute();
    const v = await audit.verify();
    expect(v.ok).toBe(false);
    expect(v.firstBad).toMatchObject({ seq: Number(victim.seq), reason: expect.stringMatching(/edited/) });
    const out = cli(['audit', 'verify', '--data', s.db.dir]);
    expect(out.status).toBe(1);
    expect(out.stderr).toContain(`at row ${victim.seq}`);
  });

  it('a deleted row and a cut tail are detected', async () => {
    const fresh = await startTestServer();
    try {
      for (let i = 0; i < 6; i++) await fresh.call('GET', '/v1/makers', { token: fresh.tokens.counter });
      const log = fresh.app.meterhub.audit;
      await log.flush();
      const db = fresh.db.database.db;
      expect((await log.verify()).ok).toBe(true);
      await db.deleteFrom('audit_log').where('seq', '>', 4).execute();
      expect((await log.verify()).firstBad).toMatchObject({ seq: 5, reason: expect.stringMatching(/head says 6/) });
      await db.deleteFrom('audit_log').where('seq', '=', 2).execute();
      expect((await log.verify()).firstBad).toMatchObject({
        seq: 2,
        reason: expect.stringMatching(/row 2 is missing/),
      });
    } finally {
      await fresh.close();
    }
  });
});
