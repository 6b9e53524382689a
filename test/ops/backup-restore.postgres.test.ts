/**
 * Backup and restore on PostgreSQL (pg_dump --format=custom / pg_restore) through the real CLI, with the
 * ledger key from the data dir: restore into another database, audit chain verifies, an idempotent retry
 * returns the same keys. Needs PostgreSQL at 127.0.0.1:5432 (README "Tests that need servers") and pg_dump.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../api/support.ts';
import { POSTGRES_URL, serviceAvailable } from '../../core/testing/services.ts';
import { sellCard, startOpsServer, tempDir, type OpsServer, type SoldCard } from './support.ts';
import { rmSync } from 'node:fs';

const pgUp = await serviceAvailable('postgres');
const suffix = `${process.pid}_${Date.now()}`;
const srcDb = `mh_backup_src_${suffix}`;
const dstDb = `mh_backup_dst_${suffix}`;
const urlOf = (db: string) => {
  const u = new URL(POSTGRES_URL);
  u.pathname = `/${db}`;
  return u.toString();
};

function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const e = { ...process.env, ...env };
  delete e.METERHUB_LEDGER_KEY;
  if (!env.DATABASE_URL) delete e.DATABASE_URL;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, 'bin', 'meterhub.mjs'), ...args],
      { env: e, timeout: 120_000, encoding: 'utf8' },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

async function admin(sqlText: string): Promise<void> {
  const c = new pg.Client({ connectionString: POSTGRES_URL });
  await c.connect();
  try {
    await c.query(sqlText);
  } finally {
    await c.end();
  }
}

const work = tempDir('mh-backup-pg-');
let s: OpsServer | undefined;
let restored: OpsServer | undefined;
let sold: SoldCard;

beforeAll(async () => {
  if (!pgUp) return;
  await admin(`create database ${srcDb}`);
  await admin(`create database ${dstDb}`);
  s = await startOpsServer({ dataDir: join(work, 'src'), databaseUrl: urlOf(srcDb), requiredPlugins: [] });
  sold = await sellCard(s, 'kingcard');
}, 120_000);

afterAll(async () => {
  await restored?.close({ keepData: true });
  await s?.close({ keepData: true });
  rmSync(work, { recursive: true, force: true });
  if (pgUp) {
    await admin(`drop database if exists ${srcDb} with (force)`);
    await admin(`drop database if exists ${dstDb} with (force)`);
  }
});

describe.skipIf(!pgUp)('meterhub backup / restore (PostgreSQL, needs 127.0.0.1:5432)', () => {
  it('pg_dump while the server runs, pg_restore into another database, same keys on retry', async () => {
    const archive = join(work, 'pg-backup.tar.gz');
    const b = await cli([
      'backup',
      '--data',
      join(work, 'src'),
      '--database-url',
      urlOf(srcDb),
      '--out',
      archive,
      '--json',
    ]);
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    expect(JSON.parse(b.stdout).manifest).toMatchObject({ dialect: 'postgres', ledgerKey: { included: true } });

    const fresh = join(work, 'fresh');
    const r = await cli(['restore', '--data', fresh, '--from', archive, '--database-url', urlOf(dstDb), '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      dialect: 'postgres',
      audit: { ok: true },
      ledgerKey: { source: 'archive' },
    });

    const v = await cli(['audit', 'verify', '--data', fresh, '--json'], { DATABASE_URL: urlOf(dstDb) });
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: true });

    // A second restore onto the now non-empty database is refused without --force.
    const again = await cli([
      'restore',
      '--data',
      join(work, 'other'),
      '--from',
      archive,
      '--database-url',
      urlOf(dstDb),
    ]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('RESTORE_REFUSED');

    restored = await startOpsServer({
      dataDir: fresh,
      databaseUrl: urlOf(dstDb),
      tokens: s!.tokens,
      requiredPlugins: [],
    });
    const retry = await restored.call('POST', '/v1/cards/purchase', {
      token: s!.tokens.counter,
      idem: sold.purchaseIdem,
      body: sold.purchaseBody,
    });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body).toMatchObject({
      transactionId: sold.purchase.transactionId,
      oldKey: sold.purchase.oldKey,
      newKey: sold.purchase.newKey,
    });
  }, 180_000);
});
