/**
 * Backup and restore of the ledger, end to end through the real CLI:
 * real card sales through the API, `meterhub backup` while the server is running and still selling,
 * `meterhub restore` into a fresh data dir, `meterhub audit verify` on it, a server started on it: the
 * transactions are there, sales made after the backup are not, and an idempotent retry of a purchase
 * returns the very same card keys (the ledger key came back with the data).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../api/support.ts';
import { sellCard, startOpsServer, tempDir, type OpsServer, type SoldCard } from './support.ts';

function cli(
  args: string[],
  extraEnv: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.METERHUB_LEDGER_KEY;
  delete env.DATABASE_URL;
  Object.assign(env, extraEnv);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, 'bin', 'meterhub.mjs'), ...args],
      { env, timeout: 120_000, encoding: 'utf8' },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

const work = tempDir('mh-backup-');
const source = join(work, 'source');
const fresh = join(work, 'fresh');
const archive = join(work, 'ledger-backup.tar.gz');
let s: OpsServer;
let restored: OpsServer | undefined;
const before: SoldCard[] = [];
const during: SoldCard[] = [];
let late: SoldCard;

beforeAll(async () => {
  s = await startOpsServer({ dataDir: source, requiredPlugins: [] });
  before.push(await sellCard(s, 'kingcard'), await sellCard(s, 'chint'));
  // Back up while the server keeps selling: the copy must be consistent whatever it catches.
  let selling = true;
  const seller = (async () => {
    while (selling) during.push(await sellCard(s, 'lanbaoshi'));
  })();
  const b = await cli(['backup', '--data', source, '--out', archive, '--json']);
  selling = false;
  await seller;
  expect(b.stderr).not.toMatch(/Error|错误/);
  expect(b.code).toBe(0);
  expect(during.length).toBeGreaterThan(0);
  const report = JSON.parse(b.stdout) as {
    manifest: {
      ledgerKey: { included: boolean; keyId: string };
      counts: { ledgerTransactions: number };
      audit: { ok: boolean };
    };
  };
  expect(report.manifest.ledgerKey.included).toBe(true);
  expect(report.manifest.audit.ok).toBe(true);
  expect(report.manifest.counts.ledgerTransactions).toBeGreaterThanOrEqual(4);
  late = await sellCard(s, 'kingcard');
}, 180_000);

afterAll(async () => {
  await restored?.close({ keepData: true });
  await s?.close({ keepData: true });
  rmSync(work, { recursive: true, force: true });
});

describe('meterhub backup / restore (SQLite)', () => {
  it('the archive is private and opens with plain tar: manifest, database, ledger key, plugin state', async () => {
    expect(statSync(archive).mode & 0o077).toBe(0);
    const list = await new Promise<string>((resolve, reject) =>
      execFile('tar', ['-tzf', archive], (e, out) => (e ? reject(e) : resolve(out))),
    );
    expect(list.split('\n').filter(Boolean)).toEqual(
      expect.arrayContaining(['MANIFEST.json', 'meterhub.db', 'ledger.key']),
    );
  }, 30_000);

  it('restores into a fresh data dir; the audit chain verifies with `meterhub audit verify`', async () => {
    const r = await cli(['restore', '--data', fresh, '--from', archive, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      audit: { ok: boolean; rows: number };
      ledgerKey: { source: string; keyId: string };
    };
    expect(out.audit.ok).toBe(true);
    expect(out.ledgerKey.source).toBe('archive');
    // The key came back byte for byte, private.
    expect(readFileSync(join(fresh, 'ledger.key'), 'utf8')).toBe(readFileSync(join(source, 'ledger.key'), 'utf8'));
    expect(statSync(join(fresh, 'ledger.key')).mode & 0o777).toBe(0o600);
    expect(readdirSync(fresh).filter((f) => f.startsWith('.restore-'))).toEqual([]);

    const v = await cli(['audit', 'verify', '--data', fresh, '--json']);
    expect(v.code).toBe(0);
    const verify = JSON.parse(v.stdout) as { ok: boolean; rows: number };
    expect(verify.ok).toBe(true);
    expect(verify.rows).toBe(out.audit.rows);
    expect(verify.rows).toBeGreaterThanOrEqual(8);
  }, 120_000);

  it('a server on the restored dir has the transactions, not the later ones, and an idempotent retry returns the same keys', async () => {
    restored = await startOpsServer({ dataDir: fresh, tokens: s.tokens, requiredPlugins: [] });
    for (const sold of before) {
      const maker = sold === before[0] ? 'kingcard' : 'chint';
      const h = await restored.call('GET', `/v1/transactions?maker=${maker}&cardNo=${sold.cardNo}`, {
        token: s.tokens.ops,
      });
      expect(h.status).toBe(200);
      expect(h.body.transactions.map((t: { operation: string; state: string }) => `${t.operation}:${t.state}`)).toEqual(
        ['issue:CONFIRMED', 'purchase:CONFIRMED'],
      );
    }
    // Sales racing the backup are all or nothing: a purchase is never there without its issue.
    for (const sold of during) {
      const h = await restored.call('GET', `/v1/transactions?maker=lanbaoshi&cardNo=${sold.cardNo}`, {
        token: s.tokens.ops,
      });
      const ops = h.body.transactions.map((t: { operation: string }) => t.operation);
      expect([[], ['issue'], ['issue', 'purchase']]).toContainEqual(ops);
    }
    // After the backup: not there.
    expect(
      (await restored.call('GET', `/v1/transactions/${late.purchase.transactionId}`, { token: s.tokens.ops })).status,
    ).toBe(404);

    // The counter retries the purchase it made before the backup: same transaction, same keys, same data.
    const sold = before[0]!;
    const retry = await restored.call('POST', '/v1/cards/purchase', {
      token: s.tokens.counter,
      idem: sold.purchaseIdem,
      body: sold.purchaseBody,
    });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body).toMatchObject({
      transactionId: sold.purchase.transactionId,
      oldKey: sold.purchase.oldKey,
      newKey: sold.purchase.newKey,
      data: sold.purchase.data,
    });
    expect(retry.body.newKey).toMatch(/^[0-9A-F]{6}$/);
  }, 120_000);

  it('refuses to overwrite a ledger unless --force, which moves the old files aside', async () => {
    await restored?.close({ keepData: true });
    restored = undefined;
    const again = await cli(['restore', '--data', fresh, '--from', archive]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('RESTORE_REFUSED');
    const forced = await cli(['restore', '--data', fresh, '--from', archive, '--force', '--json']);
    expect(forced.code).toBe(0);
    const out = JSON.parse(forced.stdout) as { movedAside: string };
    expect(existsSync(join(out.movedAside, 'meterhub.db'))).toBe(true);
  }, 120_000);

  it('a damaged archive is refused before anything is touched', async () => {
    const bad = join(work, 'bad.tar.gz');
    const bytes = readFileSync(archive);
    const mid = Math.floor(bytes.length / 2);
    bytes[mid] = bytes[mid]! ^ 0xff;
    writeFileSync(bad, bytes);
    const target = join(work, 'never');
    const r = await cli(['restore', '--data', target, '--from', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('BACKUP_INVALID');
    expect(existsSync(join(target, 'meterhub.db'))).toBe(false);
  }, 60_000);
});
