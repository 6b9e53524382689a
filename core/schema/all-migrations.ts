/**
 * Every domain's migrations, listed explicitly. Programs migrate a database only through here: a program that
 * loads one domain (the CLI loads only the command it runs, a gateway only the readings) still knows every
 * migration that another program applied to the same database, where kysely would otherwise refuse the
 * database as "corrupted" (an applied migration it does not know). A new domain with migrations adds its list
 * to ALL_MIGRATIONS.
 */
import { AUDIT_MIGRATIONS } from '../audit/audit-log.ts';
import { AUTH_MIGRATIONS } from '../auth/token-store.ts';
import type { MeterHubDatabase } from '../db/database.ts';
import { migrate, type DomainMigration } from '../db/migrations.ts';
import { LEDGER_IMPORT_MIGRATIONS } from '../ledger/ledger-import-schema.ts';
import { LEDGER_MIGRATIONS } from '../ledger/ledger-schema.ts';
import { METER_MIGRATIONS } from '../meters/schema.ts';
import { READINGS_MIGRATIONS } from '../readings/schema.ts';

export const ALL_MIGRATIONS: readonly DomainMigration[] = Object.freeze([
  ...AUTH_MIGRATIONS,
  ...AUDIT_MIGRATIONS,
  ...LEDGER_MIGRATIONS,
  ...LEDGER_IMPORT_MIGRATIONS,
  ...READINGS_MIGRATIONS,
  ...METER_MIGRATIONS,
]);

/** Applies every pending migration of every domain; returns the names applied. */
export function migrateAll(
  database: MeterHubDatabase,
  list: readonly DomainMigration[] = ALL_MIGRATIONS,
): Promise<string[]> {
  return migrate(database, list);
}
