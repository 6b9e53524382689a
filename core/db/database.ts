/**
 * One database layer for the ledger and the telemetry pipeline.
 * SQLite (better-sqlite3) under the data directory is the embedded default; PostgreSQL when DATABASE_URL is set.
 */
import { mkdirSync } from 'node:fs';
import { ensurePrivateSqlite } from './private-files.ts';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import {
  CompiledQuery,
  Kysely,
  PostgresDialect,
  SqliteDialect,
  SqliteDriver,
  sql,
  type DatabaseConnection,
  type Driver,
} from 'kysely';
import { createRequire } from 'node:module';
import type pg from 'pg';
import { DEFAULT_DATA_DIR, DEFAULT_SQLITE_FILE } from '../config/defaults.ts';
import { environment, type Environment } from '../config/environment.ts';

export type DialectName = 'sqlite' | 'postgres';

export interface DatabaseOptions {
  /** postgres://… selects PostgreSQL; otherwise a SQLite file path (default DEFAULT_SQLITE_PATH). */
  url?: string | undefined;
  /** PostgreSQL pool size. */
  poolSize?: number;
}

export interface MeterHubDatabase {
  // The schema is spread over domain migrations; each domain types its own tables on top of this.
  db: Kysely<any>;
  dialect: DialectName;
  /** Where the data lives, without credentials (safe to log and show on /health). */
  location: string;
  /** PostgreSQL only: the pool under Kysely, for what Kysely cannot do (COPY, core/golive/pg-copy.ts). */
  pool?: pg.Pool;
  close(): Promise<void>;
}

export const DEFAULT_SQLITE_PATH = join(DEFAULT_DATA_DIR, DEFAULT_SQLITE_FILE);

export function resolveDatabaseUrl(env: Environment = environment()): string | undefined {
  return env.DATABASE_URL?.trim() || undefined;
}

/**
 * pg is loaded on the first PostgreSQL open only: an embedded SQLite server (and its ledger thread) would
 * otherwise carry the module for nothing (issue 17 measured idle memory). pg is CommonJS, so this stays sync.
 */
const loadPg = (): typeof pg => createRequire(import.meta.url)('pg') as typeof pg;

export function openDatabase(opts: DatabaseOptions = {}): MeterHubDatabase {
  const url = opts.url ?? resolveDatabaseUrl();
  if (url && /^postgres(ql)?:\/\//.test(url)) {
    const pg = loadPg();
    const pool = new pg.Pool({ connectionString: url, max: opts.poolSize ?? 10 });
    // BIGINT columns come back as strings by default; ledger counters fit in JS numbers.
    pg.types.setTypeParser(20, (v) => Number(v));
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
    return { db, dialect: 'postgres', location: redactUrl(url), pool, close: () => db.destroy() };
  }
  const file = resolve(url?.replace(/^sqlite:(\/\/)?/, '') || DEFAULT_SQLITE_PATH);
  if (file !== ':memory:') {
    mkdirSync(dirname(file), { recursive: true });
    ensurePrivateSqlite(file);
  }
  const sqlite = new Database(file);
  // Money-grade durability: WAL for concurrency, synchronous FULL so a commit survives power loss.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<any>({ dialect: new ImmediateSqliteDialect({ database: withStatementCache(sqlite) }) });
  return { db, dialect: 'sqlite', location: file, close: () => db.destroy() };
}

/**
 * Transactions take the write lock when they begin (BEGIN IMMEDIATE), not at their first write. The same file
 * has more than one connection (the ledger thread, gateway processes): a deferred transaction that read first
 * and then writes after another connection committed fails at once with SQLITE_BUSY, whatever busy_timeout
 * says, while an immediate one waits its turn in busy_timeout.
 */
class ImmediateSqliteDialect extends SqliteDialect {
  override createDriver(): Driver {
    const driver = super.createDriver() as SqliteDriver;
    driver.beginTransaction = async (connection: DatabaseConnection) => {
      await connection.executeQuery(CompiledQuery.raw('begin immediate'));
    };
    return driver;
  }
}

/**
 * Kysely prepares every SQLite statement anew; the ledger and the outbox run the same few statements all
 * day, so prepared statements are kept (bounded) per SQL text. Safe because Kysely's SQLite driver runs one
 * query at a time on its single connection.
 */
function withStatementCache(sqlite: Database.Database, max = 512): Database.Database {
  const cache = new Map<string, Database.Statement>();
  const prepare = sqlite.prepare.bind(sqlite);
  return new Proxy(sqlite, {
    get(target, prop, receiver) {
      if (prop !== 'prepare') {
        // Native methods must be called on the real object, not on the proxy.
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      }
      return (source: string) => {
        let st = cache.get(source);
        if (!st) {
          st = prepare(source);
          if (cache.size >= max) cache.delete(cache.keys().next().value!);
          cache.set(source, st);
        }
        return st;
      };
    },
  });
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+)(:[^@/]*)?@/, '//$1:***@');
}

/** Cheap liveness probe used by health endpoints. */
export async function pingDatabase(h: MeterHubDatabase): Promise<boolean> {
  try {
    await sql`select 1`.execute(h.db);
    return true;
  } catch {
    return false;
  }
}
