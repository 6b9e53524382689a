/**
 * Migrations are an explicit list handed to the migrator (issue 15): nothing registers itself on import, so
 * what a database gets does not depend on which modules an entry point happened to load.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { AUTH_MIGRATIONS } from '../auth/token-store.ts';
import { openDatabase } from '../db/database.ts';
import * as migrations from '../db/migrations.ts';
import { ALL_MIGRATIONS, migrateAll } from './all-migrations.ts';

const dir = mkdtempSync(join(tmpdir(), 'mh-migrations-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function applied(file: string): Promise<string[]> {
  const h = openDatabase({ url: join(dir, file) });
  try {
    const r = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(h.db);
    return r.rows.map((x) => x.name);
  } finally {
    await h.close();
  }
}

describe('explicit migrations', () => {
  it('the migrator has no registry to fill on import', () => {
    expect(Object.keys(migrations).sort()).toEqual(['checkMigrations', 'migrate']);
  });

  it('migrate applies exactly the list it is given', async () => {
    const h = openDatabase({ url: join(dir, 'auth-only.db') });
    expect(await migrations.migrate(h, AUTH_MIGRATIONS)).toEqual(['auth_0001_init']);
    await h.close();
    expect(await applied('auth-only.db')).toEqual(['auth_0001_init']);
  });

  it('migrateAll applies every domain once', async () => {
    const h = openDatabase({ url: join(dir, 'all.db') });
    const names = ALL_MIGRATIONS.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    for (const first of [
      'auth_0001_init',
      'audit_0001_init',
      'ledger_0001_init',
      'ledger_0003_card_import',
      'meters_0001_registry',
      'telemetry_0001_readings',
    ]) {
      expect(names).toContain(first);
    }
    expect((await migrateAll(h)).sort()).toEqual([...names].sort());
    expect(await migrateAll(h)).toEqual([]);
    await h.close();
  });

  it('a repeated or badly named migration is refused', () => {
    const m = AUTH_MIGRATIONS[0]!;
    expect(() => migrations.checkMigrations([m, { ...m }])).toThrow(/duplicate migration auth_0001_init/);
    expect(() => migrations.checkMigrations([{ ...m, name: 'Auth-1' }])).toThrow(/bad migration name/);
  });
});
