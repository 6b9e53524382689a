/**
 * Versioned migrations. Each domain (ledger, telemetry, auth, …) exports a named list; names are prefixed with
 * the domain and a zero-padded number so the global order is stable ("ledger_0001_init"). The migrator is
 * given the lists explicitly (core/schema/all-migrations.ts): nothing registers itself on import, so no entry
 * point has to remember side-effect imports.
 */
import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { DialectName, MeterHubDatabase } from './database.ts';

export interface DomainMigration {
  name: string;
  up(db: Kysely<any>, dialect: DialectName): Promise<void>;
}

/** Checks names and uniqueness; a bad or repeated name is a programming error. */
export function checkMigrations(list: readonly DomainMigration[]): Map<string, DomainMigration> {
  const byName = new Map<string, DomainMigration>();
  for (const m of list) {
    if (!/^[a-z]+_\d{4}_[a-z0-9_]+$/.test(m.name)) throw new Error(`bad migration name ${m.name}`);
    const existing = byName.get(m.name);
    if (existing && existing !== m) throw new Error(`duplicate migration ${m.name}`);
    byName.set(m.name, m);
  }
  return byName;
}

/** Applies the pending migrations of `list`; returns the names applied. */
export async function migrate(h: MeterHubDatabase, list: readonly DomainMigration[]): Promise<string[]> {
  const byName = checkMigrations(list);
  const provider: MigrationProvider = {
    async getMigrations() {
      const out: Record<string, Migration> = {};
      for (const [name, m] of byName) out[name] = { up: (db) => m.up(db, h.dialect) };
      return out;
    },
  };
  // A domain's later migration may be numbered after another domain's (ledger_0003 came with imports), and
  // databases created before a domain existed get its migrations after others' later ones.
  const migrator = new Migrator({ db: h.db, provider, allowUnorderedMigrations: true });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
