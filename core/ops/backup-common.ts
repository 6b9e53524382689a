/** What backup and restore share: the archive manifest, the ledger key, checksums, running pg tools. */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import type { MeterHubDatabase } from '../db/database.ts';
import { KeyVault, LEDGER_KEY_FILE } from '../ledger/key-vault.ts';
import { ToolMissing } from './ops-errors.ts';
import { environment, type Environment } from '../config/environment.ts';

export const BACKUP_FORMAT = 'meterhub-backup';
export const BACKUP_VERSION = 1;
export const MANIFEST = 'MANIFEST.json';
export const SQLITE_ENTRY = 'meterhub.db';
export const PG_ENTRY = 'meterhub.pgdump';
export const KEY_ENTRY = LEDGER_KEY_FILE;
export const PLUGIN_STATE_ENTRY = 'plugins.json';

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  version: number;
  createdAt: string;
  meterhubVersion: string;
  dialect: 'sqlite' | 'postgres';
  /** Where the data came from, without credentials. */
  source: string;
  files: Array<{ name: string; bytes: number; sha256: string }>;
  ledgerKey: {
    /** Whether ledger.key is inside this archive. */
    included: boolean;
    /** Id of the key that encrypted the card keys (sha256 prefix, never the key). */
    keyId: string | null;
    source: 'file' | 'env' | 'none';
  };
  /** SQLite: counted in the backup copy itself. */
  counts?: { ledgerTransactions: number; ledgerCards: number; auditRows: number };
  audit?: { ok: boolean; rows: number; lastSeq: number };
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (c) => h.update(c))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

/** The server's ledger key as `serve` would load it — but never creates a key file. */
export function currentLedgerKey(
  dataDir: string,
  env: Environment = environment(),
): { vault: KeyVault; source: 'env' | 'file'; path?: string } | null {
  if (env.METERHUB_LEDGER_KEY?.trim()) return { vault: KeyVault.load({ dataDir, env }), source: 'env' };
  const path = join(dataDir, LEDGER_KEY_FILE);
  if (!existsSync(path)) return null;
  return { vault: KeyVault.load({ dataDir, env: {} }), source: 'file', path };
}

/** A KeyVault from key-file text (as written in ledger.key). */
export function vaultFromKeyText(text: string): KeyVault {
  // With the key in `env`, load() never looks at (or writes) the data dir.
  return KeyVault.load({ dataDir: '.', env: { METERHUB_LEDGER_KEY: text.trim() } });
}

export function vaultFromKeyFile(path: string): KeyVault {
  return vaultFromKeyText(readFileSync(path, 'utf8'));
}

/**
 * Proves a key opens the ledger: decrypts one stored card-key ciphertext. Returns the key id the ledger's
 * ciphertexts name (null when the ledger holds no encrypted keys yet), and whether `vault` opened it.
 */
export async function checkLedgerKey(
  database: MeterHubDatabase,
  vault: KeyVault | null,
): Promise<{ ledgerKeyId: string | null; opens: boolean | null }> {
  const r = await sql<{
    id: string;
    keys_enc: string;
  }>`select id, keys_enc from ledger_transactions where keys_enc is not null order by created_at desc limit 1`.execute(
    database.db,
  );
  const row = r.rows[0];
  if (!row) return { ledgerKeyId: null, opens: null };
  const ledgerKeyId = row.keys_enc.split(':')[1] ?? null;
  if (!vault) return { ledgerKeyId, opens: false };
  try {
    vault.decrypt(row.keys_enc, row.id);
    return { ledgerKeyId, opens: true };
  } catch {
    return { ledgerKeyId, opens: false };
  }
}

/** Connection settings for the pg tools: the password goes through PGPASSWORD, never the command line. */
export function pgToolArgs(url: string): { dbname: string; env: NodeJS.ProcessEnv } {
  const u = new URL(url);
  const env: NodeJS.ProcessEnv = { ...environment() };
  if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
  u.password = '';
  return { dbname: u.toString(), env };
}

/** Runs pg_dump / pg_restore; rejects with their stderr (credentials are never on it: see pgToolArgs). */
export function runTool(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      err += s;
    });
    child.once('error', (e: NodeJS.ErrnoException) => {
      reject(
        e.code === 'ENOENT'
          ? ToolMissing(
              { program: cmd },
              { zh: `${cmd}（请安装 PostgreSQL 客户端工具）`, en: `${cmd} (install the PostgreSQL client tools)` },
            )
          : e,
      );
    });
    child.once('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} exited with ${code}: ${err.trim().slice(-2000)}`));
    });
  });
}
