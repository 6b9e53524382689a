/**
 * Test and benchmark helpers: synthetic readings and throwaway databases. Not used by production code.
 * The databases come migrated, as a composition root hands its database down: the reading pipeline does not
 * migrate (that is the caller's job, done once).
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openDatabase, type MeterHubDatabase } from '../../db/database.ts';
import { migrateAll } from '../../schema/all-migrations.ts';
import type { UnifiedReading } from '../../telemetry/frame-types.ts';

export function fakeReading(i: number, over: Partial<UnifiedReading> = {}): UnifiedReading {
  const meter = 1000 + (i % 500);
  const t = new Date(Date.UTC(2025, 0, 1) + i * 60_000).toISOString().slice(0, 19);
  return {
    meterId: `30${String(meter).padStart(12, '0')}`,
    maker: 'chint',
    meterType: 0x30,
    meterTime: t,
    receivedAt: new Date().toISOString(),
    cumulative: `${100 + i}.${String(i % 100).padStart(2, '0')}`,
    settlement: '100.00',
    history: {},
    status: { valve: 'open', lowBattery: false, alarms: [] },
    source: 'mqtt',
    rawFrame: `68${i.toString(16).padStart(8, '0')}16`.toUpperCase(),
    ...over,
  };
}

export interface TempDatabase {
  url: string;
  open(): MeterHubDatabase;
  drop(): Promise<void>;
}

/**
 * One migrated SQLite file per process, copied for each tempSqlite(): migrating is asynchronous and tempSqlite()
 * is not, and a copy is cheaper than running every migration again per test.
 */
async function migratedSqliteTemplate(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'mh-readings-template-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'template.db');
  const database = openDatabase({ url: file });
  try {
    await migrateAll(database);
  } finally {
    // Closing checkpoints the WAL into the file, so the file alone is the whole migrated database.
    await database.close();
  }
  return file;
}
const SQLITE_TEMPLATE = await migratedSqliteTemplate();

export function tempSqlite(): TempDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'mh-readings-'));
  const url = join(dir, 'test.db');
  copyFileSync(SQLITE_TEMPLATE, url);
  return { url, open: () => openDatabase({ url }), drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

/** A fresh PostgreSQL database per run, dropped afterwards. */
export async function tempPostgres(adminUrl: string): Promise<TempDatabase> {
  const name = `mh_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  const database = openDatabase({ url, poolSize: 1 });
  try {
    await migrateAll(database);
  } finally {
    await database.close();
  }
  return {
    url,
    open: () => openDatabase({ url, poolSize: 5 }),
    drop: async () => {
      // Pools close their sockets asynchronously; wait for them rather than killing them (a killed
      // pooled client raises an unhandled error in the test process).
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        for (let i = 0; i < 50; i++) {
          const r = await c.query('select count(*)::int as n from pg_stat_activity where datname = $1', [name]);
          if (r.rows[0].n === 0) break;
          await new Promise((res) => setTimeout(res, 100));
        }
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}
