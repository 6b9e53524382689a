/**
 * `meterhub backup`: one .tar.gz with everything needed to bring the ledger back.
 *
 * SQLite: better-sqlite3's online backup API copies the database in one step inside one read transaction,
 * so the copy is consistent while `meterhub serve` keeps writing (WAL: readers never block the writer).
 * The copy is checked (integrity_check, audit hash chain, the key opens the stored card keys) before it is
 * archived. PostgreSQL: pg_dump --format=custom (a consistent snapshot by itself), checked with pg_restore --list.
 *
 * The ledger key is archived with the data when it lives in <data>/ledger.key: without it the card keys in
 * the ledger are unreadable, and an idempotent retry could not hand back the same keys. A key given through
 * METERHUB_LEDGER_KEY is never written into the archive (it belongs to the secret store); the manifest
 * records its id so restore can check the key it is given. The archive is written 0600 through a temp file.
 */
import { existsSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { AuditLog } from '../audit/audit-log.ts';
import { openDatabase, redactUrl, resolveDatabaseUrl } from '../db/database.ts';
import {
  BACKUP_FORMAT,
  BACKUP_VERSION,
  KEY_ENTRY,
  MANIFEST,
  PG_ENTRY,
  PLUGIN_STATE_ENTRY,
  SQLITE_ENTRY,
  checkLedgerKey,
  currentLedgerKey,
  pgToolArgs,
  runTool,
  sha256File,
  type BackupManifest,
} from './backup-common.ts';
import { BackupFailed } from './ops-errors.ts';
import { writeTarGz, type TarInput } from './tar.ts';
import { environment } from '../config/environment.ts';

export interface BackupOptions {
  dataDir: string;
  out: string;
  /** postgres://… to back up PostgreSQL; default DATABASE_URL, else SQLite in dataDir. */
  databaseUrl?: string | undefined;
  /** Leave ledger.key out of the archive (keep it elsewhere!). Default: include it. */
  includeKey?: boolean;
  env?: NodeJS.ProcessEnv;
  meterhubVersion?: string;
}

export interface BackupResult {
  out: string;
  bytes: number;
  manifest: BackupManifest;
  warnings: string[];
}

export async function backup(o: BackupOptions): Promise<BackupResult> {
  const env = o.env ?? environment();
  const dataDir = resolve(o.dataDir);
  const out = resolve(o.out);
  const url = o.databaseUrl ?? resolveDatabaseUrl(env);
  const pg = !!url && /^postgres(ql)?:\/\//.test(url);
  const work = mkdtempSync(join(tmpdir(), 'meterhub-backup-'));
  const warnings: string[] = [];
  try {
    const key = currentLedgerKey(dataDir, env);
    const includeKey = o.includeKey !== false && key?.source === 'file';
    if (!key) warnings.push('no ledger key found (METERHUB_LEDGER_KEY unset and no ledger.key in the data dir)');
    else if (key.source === 'env')
      warnings.push(
        'the ledger key comes from METERHUB_LEDGER_KEY and is NOT in this archive: keep it in your secret store',
      );
    else if (!includeKey)
      warnings.push('ledger.key was left out (--no-key): keep it with this backup, or the card keys cannot be read');

    const inputs: TarInput[] = [];
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      version: BACKUP_VERSION,
      createdAt: new Date().toISOString(),
      meterhubVersion: o.meterhubVersion ?? '0.1.0',
      dialect: pg ? 'postgres' : 'sqlite',
      source: '',
      files: [],
      ledgerKey: { included: includeKey, keyId: key?.vault.keyId ?? null, source: key?.source ?? 'none' },
    };

    if (pg) {
      manifest.source = redactUrl(url);
      const dump = join(work, PG_ENTRY);
      const { dbname, env: pgEnv } = pgToolArgs(url);
      await runTool(
        'pg_dump',
        ['--format=custom', '--no-owner', '--no-privileges', `--file=${dump}`, `--dbname=${dbname}`],
        pgEnv,
      );
      // A dump pg_restore cannot list is not a backup.
      await runTool('pg_restore', ['--list', dump], pgEnv);
      inputs.push({ name: PG_ENTRY, path: dump });
    } else {
      const file = url ? resolve(url.replace(/^sqlite:(\/\/)?/, '')) : join(dataDir, 'meterhub.db');
      if (!existsSync(file))
        throw BackupFailed({ database: file }, { zh: `数据库不存在：${file}`, en: `no database at ${file}` });
      manifest.source = file;
      const copy = join(work, SQLITE_ENTRY);
      await sqliteOnlineCopy(file, copy);
      const checks = await checkSqliteCopy(copy, key?.vault ?? null);
      manifest.counts = checks.counts;
      manifest.audit = checks.audit;
      if (!checks.audit.ok)
        warnings.push(
          `the audit chain in the copy does not verify (${checks.auditReason ?? 'broken'}): the source was already damaged`,
        );
      if (checks.keyOpens === false) {
        warnings.push(
          `the ledger key ${key?.vault.keyId ?? '(none)'} does not open the card keys in the ledger (they name key ${checks.ledgerKeyId})`,
        );
      }
      inputs.push({ name: SQLITE_ENTRY, path: copy });
    }

    if (includeKey && key?.path) inputs.push({ name: KEY_ENTRY, path: key.path });
    const pluginState = join(dataDir, PLUGIN_STATE_ENTRY);
    if (existsSync(pluginState)) inputs.push({ name: PLUGIN_STATE_ENTRY, path: pluginState });

    for (const i of inputs)
      manifest.files.push({ name: i.name, bytes: statSync(i.path!).size, sha256: await sha256File(i.path!) });
    const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');

    // Same directory as the target, then rename: a crash never leaves a half archive under the final name.
    const tmpOut = join(dirname(out), `.${basename(out)}.${process.pid}.partial`);
    try {
      await writeTarGz(tmpOut, [{ name: MANIFEST, data: manifestBytes }, ...inputs]);
      renameSync(tmpOut, out);
    } catch (e) {
      rmSync(tmpOut, { force: true });
      throw e;
    }
    return { out, bytes: statSync(out).size, manifest, warnings };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** better-sqlite3 online backup, all pages in one step (one read transaction: a consistent snapshot). */
export async function sqliteOnlineCopy(source: string, dest: string): Promise<void> {
  const src = new Database(source, { fileMustExist: true });
  try {
    src.pragma('busy_timeout = 10000');
    await src.backup(dest, { progress: ({ totalPages }) => Math.max(totalPages, 100) });
  } finally {
    src.close();
  }
  // A self-contained single file: no -wal next to it.
  const copy = new Database(dest);
  try {
    copy.pragma('journal_mode = DELETE');
  } finally {
    copy.close();
  }
}

export interface SqliteCopyChecks {
  counts: { ledgerTransactions: number; ledgerCards: number; auditRows: number };
  audit: { ok: boolean; rows: number; lastSeq: number };
  auditReason?: string;
  ledgerKeyId: string | null;
  keyOpens: boolean | null;
}

/** integrity_check, row counts, the audit chain and the key, on a copy (never on the live database). */
export async function checkSqliteCopy(
  copy: string,
  vault: Parameters<typeof checkLedgerKey>[1],
): Promise<SqliteCopyChecks> {
  const raw = new Database(copy, { fileMustExist: true });
  let counts: SqliteCopyChecks['counts'];
  try {
    const integrity = raw.pragma('integrity_check', { simple: true });
    if (integrity !== 'ok')
      throw BackupFailed(
        { integrity: String(integrity).slice(0, 200) },
        { zh: '副本完整性检查失败', en: 'integrity_check of the copy failed' },
      );
    const n = (t: string) => {
      const exists = raw.prepare(`select 1 from sqlite_master where type = 'table' and name = ?`).get(t);
      return exists ? Number((raw.prepare(`select count(*) as n from ${t}`).get() as { n: number }).n) : 0;
    };
    counts = {
      ledgerTransactions: n('ledger_transactions'),
      ledgerCards: n('ledger_cards'),
      auditRows: n('audit_log'),
    };
  } finally {
    raw.close();
  }
  const database = openDatabase({ url: copy });
  try {
    const v = await new AuditLog(database).verify();
    const key = await checkLedgerKey(database, vault);
    return {
      counts,
      audit: { ok: v.ok, rows: v.rows, lastSeq: v.lastSeq },
      ...(v.firstBad ? { auditReason: `row ${v.firstBad.seq}: ${v.firstBad.reason}` } : {}),
      ledgerKeyId: key.ledgerKeyId,
      keyOpens: key.opens,
    };
  } finally {
    await database.close();
    // openDatabase switched the copy to WAL; the last close checkpoints it. Make it one file again.
    const again = new Database(copy);
    again.pragma('journal_mode = DELETE');
    again.close();
  }
}
