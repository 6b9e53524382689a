/**
 * `meterhub restore`: brings a `meterhub backup` archive back into a data dir (SQLite) or a PostgreSQL
 * database, with the ledger key. Stop every server on the target first.
 *
 * Nothing is replaced until the archive has been checked: every file against the manifest's sha256, the
 * SQLite copy with integrity_check and the audit hash chain, and the key against the key id the ledger's
 * ciphertexts name. A target that already holds a ledger is refused unless --force, which moves the old
 * files aside into <data>/pre-restore-<time>/ (nothing is deleted).
 */
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  chmodSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { sql } from 'kysely';
import { AuditLog } from '../audit/audit-log.ts';
import { openDatabase, redactUrl, resolveDatabaseUrl } from '../db/database.ts';
import type { KeyVault } from '../ledger/key-vault.ts';
import { LEDGER_KEY_FILE } from '../ledger/key-vault.ts';
import {
  BACKUP_FORMAT,
  BACKUP_VERSION,
  KEY_ENTRY,
  MANIFEST,
  PG_ENTRY,
  PLUGIN_STATE_ENTRY,
  SQLITE_ENTRY,
  checkLedgerKey,
  pgToolArgs,
  runTool,
  sha256File,
  vaultFromKeyFile,
  vaultFromKeyText,
  type BackupManifest,
} from './backup-common.ts';
import { checkSqliteCopy } from './backup.ts';
import { BackupInvalid, RestoreKeyMissing, RestoreRefused } from './ops-errors.ts';
import { readTarGz } from './tar.ts';
import { environment } from '../config/environment.ts';

export interface RestoreOptions {
  dataDir: string;
  from: string;
  /** postgres://… target; default DATABASE_URL when the archive is a PostgreSQL dump. */
  databaseUrl?: string | undefined;
  /** Replace an existing ledger (moved aside, never deleted). */
  force?: boolean;
  /** The ledger key, when the archive was made without it (--no-key, or METERHUB_LEDGER_KEY). */
  keyFile?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

export interface RestoreResult {
  dialect: 'sqlite' | 'postgres';
  dataDir: string;
  database: string;
  createdAt: string;
  ledgerKey: { source: 'archive' | 'key-file' | 'env' | 'data-dir' | 'none'; keyId: string | null };
  audit: { ok: boolean; rows: number; lastSeq: number };
  counts?: BackupManifest['counts'];
  movedAside?: string;
  warnings: string[];
}

const KNOWN = new Set([MANIFEST, SQLITE_ENTRY, PG_ENTRY, KEY_ENTRY, PLUGIN_STATE_ENTRY]);
const stamp = () => new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');

async function extract(from: string, staging: string): Promise<BackupManifest> {
  if (!existsSync(from))
    throw BackupInvalid({ file: from }, { zh: `文件不存在：${from}`, en: `no such file: ${from}` });
  try {
    await readTarGz(from, (e) =>
      KNOWN.has(e.name) ? createWriteStream(join(staging, e.name), { mode: 0o600 }) : null,
    );
  } catch (e) {
    throw BackupInvalid({ file: from }, { zh: (e as Error).message, en: (e as Error).message });
  }
  let m: BackupManifest;
  try {
    m = JSON.parse(readFileSync(join(staging, MANIFEST), 'utf8')) as BackupManifest;
  } catch {
    throw BackupInvalid({ file: from }, { zh: '缺少 MANIFEST.json', en: 'MANIFEST.json is missing or unreadable' });
  }
  if (m.format !== BACKUP_FORMAT || m.version !== BACKUP_VERSION) {
    throw BackupInvalid(
      { format: m.format, version: m.version },
      { zh: '不是 MeterHub 备份（或版本不支持）', en: 'not a MeterHub backup (or an unsupported version)' },
    );
  }
  for (const f of m.files) {
    const p = join(staging, f.name);
    if (!KNOWN.has(f.name) || !existsSync(p) || (await sha256File(p)) !== f.sha256) {
      throw BackupInvalid(
        { entry: f.name },
        { zh: `${f.name} 缺失或校验和不符`, en: `${f.name} is missing or its checksum does not match` },
      );
    }
  }
  return m;
}

interface ChosenKey {
  vault: KeyVault | null;
  source: RestoreResult['ledgerKey']['source'];
  /** Key-file text to install as <data>/ledger.key. */
  install?: string;
}

function chooseKey(
  o: RestoreOptions,
  m: BackupManifest,
  staging: string,
  dataDir: string,
  env: NodeJS.ProcessEnv,
): ChosenKey {
  const wanted = m.ledgerKey.keyId;
  const mismatch = (where: string, got: string) =>
    RestoreKeyMissing(
      { wanted, got, where },
      {
        zh: `${where} 的密钥（${got}）不是备份所用的密钥（${wanted}）`,
        en: `the key from ${where} (${got}) is not the backup's key (${wanted})`,
      },
    );
  // The server prefers METERHUB_LEDGER_KEY over the file, so that is the key that must fit.
  if (env.METERHUB_LEDGER_KEY?.trim()) {
    const vault = vaultFromKeyText(env.METERHUB_LEDGER_KEY);
    if (wanted && vault.keyId !== wanted) throw mismatch('METERHUB_LEDGER_KEY', vault.keyId);
    // The operator keeps the key in the environment on purpose: never drop a copy into the data dir.
    return { vault, source: 'env' };
  }
  const candidates: Array<[ChosenKey['source'], string]> = [];
  if (existsSync(join(staging, KEY_ENTRY))) candidates.push(['archive', join(staging, KEY_ENTRY)]);
  if (o.keyFile) candidates.push(['key-file', resolve(o.keyFile)]);
  const existing = join(dataDir, LEDGER_KEY_FILE);
  if (existsSync(existing)) candidates.push(['data-dir', existing]);
  for (const [source, path] of candidates) {
    const vault = vaultFromKeyFile(path);
    if (wanted && vault.keyId !== wanted) {
      if (source === 'data-dir' && !o.force) {
        throw RestoreRefused(
          { keyFile: existing },
          {
            zh: `${existing} 是另一个密钥（${vault.keyId}），备份需要 ${wanted}；--force 会把它移到一旁`,
            en: `${existing} holds another key (${vault.keyId}) but the backup needs ${wanted}; --force moves it aside`,
          },
        );
      }
      if (source !== 'data-dir') throw mismatch(source === 'archive' ? 'the archive' : path, vault.keyId);
      continue;
    }
    return { vault, source, ...(source !== 'data-dir' ? { install: readFileSync(path, 'utf8') } : {}) };
  }
  if (wanted) {
    throw RestoreKeyMissing(
      { keyId: wanted },
      {
        zh: `备份不含密钥 ${wanted}：用 --key-file 或 METERHUB_LEDGER_KEY 提供`,
        en: `the archive does not hold key ${wanted}: give it with --key-file or METERHUB_LEDGER_KEY`,
      },
    );
  }
  return { vault: null, source: 'none' };
}

export async function restore(o: RestoreOptions): Promise<RestoreResult> {
  const env = o.env ?? environment();
  const dataDir = resolve(o.dataDir);
  mkdirSync(dataDir, { recursive: true });
  // Staged inside the data dir: the final step is a rename on one filesystem.
  const staging = join(dataDir, `.restore-${process.pid}-${Date.now()}`);
  mkdirSync(staging, { mode: 0o700 });
  const warnings: string[] = [];
  try {
    const m = await extract(resolve(o.from), staging);
    const key = chooseKey(o, m, staging, dataDir, env);
    const aside = join(dataDir, `pre-restore-${stamp()}`);
    let movedAside = false;
    const moveAside = (name: string) => {
      const p = join(dataDir, name);
      if (!existsSync(p)) return;
      mkdirSync(aside, { recursive: true, mode: 0o700 });
      renameSync(p, join(aside, name));
      movedAside = true;
    };

    let audit: RestoreResult['audit'];
    let database: string;
    if (m.dialect === 'sqlite') {
      const staged = join(staging, SQLITE_ENTRY);
      const checks = await checkSqliteCopy(staged, key.vault);
      if (!checks.audit.ok) warnings.push(`the audit chain does not verify: ${checks.auditReason ?? 'broken'}`);
      if (checks.keyOpens === false)
        throw RestoreKeyMissing(
          { keyId: checks.ledgerKeyId },
          { zh: '密钥打不开台账中的卡密码', en: 'the key does not open the card keys in the ledger' },
        );
      const target = join(dataDir, 'meterhub.db');
      if ((existsSync(target) || existsSync(`${target}-wal`)) && !o.force) {
        throw RestoreRefused(
          { database: target },
          {
            zh: `${target} 已存在；确认已停止服务后用 --force（旧文件会移到 pre-restore-* 目录）`,
            en: `${target} exists; stop the server and use --force (the old files are moved into pre-restore-*)`,
          },
        );
      }
      for (const n of ['meterhub.db', 'meterhub.db-wal', 'meterhub.db-shm']) moveAside(n);
      renameSync(staged, target);
      audit = checks.audit;
      database = target;
    } else {
      const url = o.databaseUrl ?? resolveDatabaseUrl(env);
      if (!url || !/^postgres(ql)?:\/\//.test(url)) {
        throw RestoreRefused(
          {},
          {
            zh: '这是 PostgreSQL 备份：用 --database-url 或 DATABASE_URL 指定目标库',
            en: 'this is a PostgreSQL backup: name the target with --database-url or DATABASE_URL',
          },
        );
      }
      database = redactUrl(url);
      const target = openDatabase({ url });
      try {
        const has = await sql<{
          n: number;
        }>`select count(*)::int as n from information_schema.tables where table_name = 'ledger_transactions'`.execute(
          target.db,
        );
        if (Number(has.rows[0]?.n ?? 0) > 0) {
          const rows = await sql<{ n: number }>`select count(*)::int as n from ledger_transactions`.execute(target.db);
          if (Number(rows.rows[0]?.n ?? 0) > 0 && !o.force) {
            throw RestoreRefused(
              { database },
              {
                zh: `${database} 已有台账数据；确认后用 --force`,
                en: `${database} already holds ledger data; use --force to replace it`,
              },
            );
          }
        }
      } finally {
        await target.close();
      }
      const { dbname, env: pgEnv } = pgToolArgs(url);
      await runTool(
        'pg_restore',
        [
          '--clean',
          '--if-exists',
          '--no-owner',
          '--no-privileges',
          '--exit-on-error',
          '--single-transaction',
          `--dbname=${dbname}`,
          join(staging, PG_ENTRY),
        ],
        pgEnv,
      );
      const restored = openDatabase({ url });
      try {
        const v = await new AuditLog(restored).verify();
        audit = { ok: v.ok, rows: v.rows, lastSeq: v.lastSeq };
        if (!v.ok) warnings.push(`the audit chain does not verify: row ${v.firstBad?.seq}: ${v.firstBad?.reason}`);
        const k = await checkLedgerKey(restored, key.vault);
        if (k.opens === false)
          warnings.push(`the key does not open the card keys in the ledger (they name key ${k.ledgerKeyId})`);
      } finally {
        await restored.close();
      }
    }

    if (key.install !== undefined) {
      const keyPath = join(dataDir, LEDGER_KEY_FILE);
      const same = existsSync(keyPath) && readFileSync(keyPath, 'utf8').trim() === key.install.trim();
      if (!same) {
        moveAside(LEDGER_KEY_FILE);
        writeFileSync(keyPath, key.install.endsWith('\n') ? key.install : `${key.install}\n`, {
          mode: 0o600,
          flag: 'wx',
        });
        chmodSync(keyPath, 0o600);
      }
    }
    if (existsSync(join(staging, PLUGIN_STATE_ENTRY))) {
      moveAside(PLUGIN_STATE_ENTRY);
      renameSync(join(staging, PLUGIN_STATE_ENTRY), join(dataDir, PLUGIN_STATE_ENTRY));
    }
    return {
      dialect: m.dialect,
      dataDir,
      database,
      createdAt: m.createdAt,
      ledgerKey: { source: key.source, keyId: key.vault?.keyId ?? null },
      audit,
      ...(m.counts ? { counts: m.counts } : {}),
      ...(movedAside ? { movedAside: aside } : {}),
      warnings,
    };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
