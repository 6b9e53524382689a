/**
 * Go-live tables: where each imported card came from, and the import batches themselves. Migration
 * `ledger_0003_card_import` is named in the ledger's domain so that it sorts (and runs) after `ledger_0001_init`.
 *
 * The origin lives on the card's own sequence row (`ledger_cards`), so whoever looks at a card in the ledger sees
 * which batch and which source file (SHA-256) brought it in; `import_row_sha256` is the checksum of the row as it
 * was imported, which is what makes a re-run idempotent (same row → unchanged) and a changed row a conflict.
 * Imported cards may also be `lost`, `blacklisted` or `retired` (`ledger_cards.status` is free text); the ledger
 * refuses to sell onto those.
 */
import type { Kysely } from 'kysely';
import type { DomainMigration } from '../db/migrations.ts';

export interface ImportBatchRow {
  id: string;
  kind: 'cards' | 'meters';
  source_sha256: string;
  file_name: string | null;
  actor_name: string;
  actor_role: string;
  channel: string;
  rows: number;
  inserted: number;
  unchanged: number;
  updated: number;
  conflicts: number;
  invalid: number;
  /** JSON: the report's problems and the before/after of every --update change (the audit of the update). */
  report: string;
  created_at: string;
}

async function cardImport(db: Kysely<any>): Promise<void> {
  // One column per statement: SQLite's ALTER TABLE adds one at a time.
  for (const col of ['user_no', 'meter_no', 'last_sale_at', 'import_batch_id', 'import_sha256', 'import_row_sha256']) {
    await db.schema.alterTable('ledger_cards').addColumn(col, 'text').execute();
  }
  await db.schema.alterTable('ledger_cards').addColumn('last_sale_gas', 'integer').execute();
  // Why a card was adopted at the counter (the policy may require a reason); null for every other operation.
  await db.schema.alterTable('ledger_transactions').addColumn('reason', 'text').execute();
  await db.schema
    .createTable('import_batches')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('source_sha256', 'text', (c) => c.notNull())
    .addColumn('file_name', 'text')
    .addColumn('actor_name', 'text', (c) => c.notNull())
    .addColumn('actor_role', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('rows', 'integer', (c) => c.notNull())
    .addColumn('inserted', 'integer', (c) => c.notNull())
    .addColumn('unchanged', 'integer', (c) => c.notNull())
    .addColumn('updated', 'integer', (c) => c.notNull())
    .addColumn('conflicts', 'integer', (c) => c.notNull())
    .addColumn('invalid', 'integer', (c) => c.notNull())
    .addColumn('report', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
}

export const LEDGER_IMPORT_MIGRATIONS: DomainMigration[] = [{ name: 'ledger_0003_card_import', up: cardImport }];
