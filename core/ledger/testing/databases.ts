/**
 * Fresh databases for ledger/API tests: a SQLite file in a temp dir, or a brand-new PostgreSQL database
 * (created on the test server, dropped afterwards) so runs never share state.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type MeterHubDatabase } from '../../db/database.ts';
import { migrateAll } from '../../schema/all-migrations.ts';
import { POSTGRES_URL } from '../../testing/services.ts';

export interface TestDatabase {
  database: MeterHubDatabase;
  /** DATABASE_URL for a child process (PostgreSQL) or the SQLite file path. */
  url: string;
  dir: string;
  cleanup(): Promise<void>;
}

export async function createPgDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `meterhub_t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(POSTGRES_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      // Without FORCE first: a pool that has just been ended may still be closing its sockets, and a forced
      // drop would kill them mid-goodbye (an unhandled 57P01 in this process).
      const c = new pg.Client({ connectionString: POSTGRES_URL });
      await c.connect();
      try {
        for (let i = 0; ; i++) {
          try {
            await c.query(`drop database if exists ${name}${i >= 30 ? ' with (force)' : ''}`);
            return;
          } catch (e) {
            if (i >= 30) throw e;
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      } finally {
        await c.end();
      }
    },
  };
}

export async function openTestDatabase(
  kind: 'sqlite' | 'postgres',
  o: { migrate?: boolean; poolSize?: number } = {},
): Promise<TestDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'meterhub-t-'));
  let url: string;
  let drop = async () => {};
  if (kind === 'postgres') {
    const p = await createPgDatabase();
    url = p.url;
    drop = p.drop;
  } else {
    url = join(dir, 'meterhub.db');
  }
  const database = openDatabase({ url, ...(o.poolSize ? { poolSize: o.poolSize } : {}) });
  if (o.migrate !== false) await migrateAll(database);
  return {
    database,
    url,
    dir,
    async cleanup() {
      await database.close().catch(() => {});
      await drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
