/**
 * Versioned migrations. Each domain (ledger, telemetry, auth, …) contributes a named list; names are
 * prefixed with the domain and a zero-padded number so the global order is stable ("ledger_0001_init").
 */
import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { DialectName, MeterHubDatabase } from './database.ts';

export interface DomainMigration {
  name: string;
  up(db: Kysely<any>, dialect: DialectName): Promise<void>;
}

const registry = new Map<string, DomainMigration>();

/** Domains call this at import time; registering the same name twice is a programming error. */
export function registerMigrations(list: DomainMigration[]): void {
  for (const m of list) {
    if (!/^[a-z]+_\d{4}_[a-z0-9_]+$/.test(m.name)) throw new Error(`bad migration name ${m.name}`);
    const existing = registry.get(m.name);
    if (existing && existing !== m) throw new Error(`duplicate migration ${m.name}`);
    registry.set(m.name, m);
  }
}

export async function migrate(h: MeterHubDatabase): Promise<string[]> {
  const provider: MigrationProvider = {
    async getMigrations() {
      const out: Record<string, Migration> = {};
      for (const [name, m] of registry) out[name] = { up: (db) => m.up(db, h.dialect) };
      return out;
    },
  };
  // Domains may be loaded in any order, so migrations of one domain can land after another's later ones.
  const migrator = new Migrator({ db: h.db, provider, allowUnorderedMigrations: true });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
