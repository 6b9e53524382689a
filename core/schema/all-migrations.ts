/**
 * Every domain's migrations in one place. Programs migrate a database only through here: a program that loads
 * one domain (the CLI loads only the command it runs, a gateway only the readings) still knows every migration
 * that another program applied to the same database, where kysely would otherwise refuse the database as
 * "corrupted" (an applied migration it does not know). Domains register their lists when their schema module is
 * loaded, so this module loads them all; a new domain with migrations adds one line here.
 */
import '../auth/token-store.ts';
import '../audit/audit-log.ts';
import '../ledger/ledger-schema.ts';
import '../ledger/ledger-import-schema.ts';
import '../readings/schema.ts';
import type { MeterHubDatabase } from '../db/database.ts';
import { migrate } from '../db/migrations.ts';

/** Applies every pending migration of every domain; returns the names applied. */
export function migrateAll(database: MeterHubDatabase): Promise<string[]> {
  return migrate(database);
}
