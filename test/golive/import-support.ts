/** What the go-live import tests (cards, meters) share: the REST dry run then import, and a batch read back. */
import { expect } from 'vitest';
import type { MeterHubDatabase } from '../../core/db/database.ts';
import type { TestServer } from '../api/support.ts';

/** The import_batches row with its report parsed. */
export async function batchOf(database: MeterHubDatabase, id: string | null) {
  const row = await database.db.selectFrom('import_batches').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  return { ...row, report: JSON.parse(row.report as string) as Record<string, any> };
}

/**
 * POST /v1/imports/{kind} as ops: a dry run (200, no batch, nothing written: `stored()` stays 0), then the real
 * import (200, a batch id). Both bodies are returned for the caller's own checks.
 */
export async function restDryRunThenImport(
  s: TestServer,
  kind: 'cards' | 'meters',
  content: string,
  stored: () => Promise<number>,
): Promise<{ dry: Record<string, any>; real: Record<string, any> }> {
  const path = `/v1/imports/${kind}`;
  const dry = await s.call('POST', path, { token: s.tokens.ops, body: { content, dryRun: true, fileName: 'old.csv' } });
  expect(dry.status).toBe(200);
  expect(dry.body).toMatchObject({ kind, batchId: null, dryRun: true });
  expect(await stored()).toBe(0);
  const real = await s.call('POST', path, { token: s.tokens.ops, body: { content, fileName: 'old.csv' } });
  expect(real.status).toBe(200);
  expect(real.body).toMatchObject({ batchId: expect.stringMatching(/^imp_/), fileName: 'old.csv' });
  return { dry: dry.body, real: real.body };
}

/** The audit rows of a REST import: the request hook writes the batch id as the call's transaction id. */
export async function auditOfBatch(s: TestServer, batchId: string) {
  await s.app.meterhub.audit.flush();
  return s.db.database.db.selectFrom('audit_log').selectAll().where('tx_id', '=', batchId).execute();
}

/** A CLI import's audit entry: one row, method CLI, the batch id as its transaction, the file's SHA-256 in its path. */
export async function expectCliAudit(
  database: MeterHubDatabase,
  kind: 'cards' | 'meters',
  report: { batchId: string; sourceSha256: string },
): Promise<void> {
  const audit = await database.db.selectFrom('audit_log').selectAll().where('tx_id', '=', report.batchId).execute();
  expect(audit).toEqual([
    expect.objectContaining({
      method: 'CLI',
      route: `meterhub import ${kind}`,
      path: expect.stringContaining(report.sourceSha256),
    }),
  ]);
}
