/**
 * Ledger tables. Same DDL on SQLite and PostgreSQL: text ids, integer amounts, ISO-8601 text timestamps.
 *
 * Double loading is impossible by construction, twice over:
 *  - `ledger_cards` is the per-card sequence row; every write bumps its `version` with a conditional UPDATE
 *    inside the same transaction as the new ledger row, so two writes prepared from the same card state
 *    cannot both commit;
 *  - the partial unique index `ledger_tx_live_count` allows one live count-owning row (issue, purchase, or
 *    the rewrite that replaced one) per (maker, card_no, count).
 */
import { sql, type Kysely } from 'kysely';
import { registerMigrations } from '../db/migrations.ts';

export type TxOp = 'issue' | 'reissue' | 'purchase' | 'refund' | 'format' | 'tool' | 'rewrite' | 'cancel_reissue' | 'adopt';
export type TxState = 'PREPARED' | 'CONFIRMED' | 'FAILED' | 'REVERSED' | 'REWRITTEN' | 'CANCELLED';

export interface LedgerCardRow {
  maker: string;
  card_no: string;
  card_type: string;
  meter_kind: number | null;
  count: number;
  /** Gas the ledger says is deliverable at `count` (the last sale not refunded); what a replacement may carry. */
  open_gas: number;
  reissues: number;
  /** lost / blacklisted / retired: only imported cards (ledger-import-schema.ts); never sold onto. */
  status: 'active' | 'formatted' | 'lost' | 'blacklisted' | 'retired';
  pending_tx_id: string | null;
  last_tx_id: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface LedgerTxRow {
  id: string;
  op: TxOp;
  /** What the write does on the card (for a rewrite: the op of the transaction it repeats). */
  base_op: TxOp;
  state: TxState;
  maker: string;
  card_type: string;
  card_no: string | null;
  gas: number | null;
  refunded_gas: number | null;
  count: number | null;
  meter_kind: number | null;
  tool: string | null;
  tool_params: string | null;
  data: string | null;
  keys_enc: string | null;
  source_sha256: string | null;
  ref_id: string | null;
  seq_live: number;
  /** JSON snapshot of the card row before this write (null: no row existed); reverse restores it. */
  card_before: string | null;
  actor_name: string;
  actor_role: string;
  channel: string;
  idem_key: string | null;
  error_code: string | null;
  error_message: string | null;
  created_at: string;
  updated_at: string;
  confirmed_at: string | null;
  /** ledger_0002: JSON of the card as read before the write (for CPU cards: as the station's maker library reported it). */
  card_observed: string | null;
  /** ledger_0002: JSON of the last CPU read-back the station reported (confirm/reverse); null for memory cards. */
  read_back: string | null;
  /** ledger_0003: why a card was adopted (adopt only). Optional: older writers do not set it. */
  reason?: string | null;
}

export interface LedgerIdemRow {
  scope: string;
  idem_key: string;
  request_hash: string;
  tx_id: string | null;
  status: number;
  /** Response body without oldKey/newKey (those are re-read, encrypted, from the transaction). */
  response: string;
  created_at: string;
}

export interface LedgerTables {
  ledger_cards: LedgerCardRow;
  ledger_transactions: LedgerTxRow;
  ledger_idempotency: LedgerIdemRow;
}

async function init(db: Kysely<any>): Promise<void> {
  await db.schema.createTable('ledger_cards')
    .addColumn('maker', 'text', (c) => c.notNull())
    .addColumn('card_no', 'text', (c) => c.notNull())
    .addColumn('card_type', 'text', (c) => c.notNull())
    .addColumn('meter_kind', 'integer')
    .addColumn('count', 'integer', (c) => c.notNull())
    .addColumn('open_gas', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('reissues', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('pending_tx_id', 'text')
    .addColumn('last_tx_id', 'text')
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('ledger_cards_pk', ['maker', 'card_no'])
    .execute();

  await db.schema.createTable('ledger_transactions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('op', 'text', (c) => c.notNull())
    .addColumn('base_op', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('maker', 'text', (c) => c.notNull())
    .addColumn('card_type', 'text', (c) => c.notNull())
    .addColumn('card_no', 'text')
    .addColumn('gas', 'integer')
    .addColumn('refunded_gas', 'integer')
    .addColumn('count', 'integer')
    .addColumn('meter_kind', 'integer')
    .addColumn('tool', 'text')
    .addColumn('tool_params', 'text')
    .addColumn('data', 'text')
    .addColumn('keys_enc', 'text')
    .addColumn('source_sha256', 'text')
    .addColumn('ref_id', 'text')
    .addColumn('seq_live', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('card_before', 'text')
    .addColumn('actor_name', 'text', (c) => c.notNull())
    .addColumn('actor_role', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('idem_key', 'text')
    .addColumn('error_code', 'text')
    .addColumn('error_message', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('confirmed_at', 'text')
    .addCheckConstraint('ledger_tx_state_ck', sql`state in ('PREPARED','CONFIRMED','FAILED','REVERSED','REWRITTEN','CANCELLED')`)
    .addCheckConstraint('ledger_tx_live_ck', sql`seq_live in (0, 1)`)
    .execute();
  // Partial indexes are plain SQL on both engines.
  await sql`create unique index ledger_tx_live_count on ledger_transactions (maker, card_no, count) where seq_live = 1`.execute(db);
  await db.schema.createIndex('ledger_tx_card').on('ledger_transactions').columns(['maker', 'card_no', 'created_at']).execute();

  await db.schema.createTable('ledger_idempotency')
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('idem_key', 'text', (c) => c.notNull())
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('tx_id', 'text')
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('response', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('ledger_idempotency_pk', ['scope', 'idem_key'])
    .execute();
}

/**
 * CPU cards (Tancy) in the central ledger. Their maker library drives the reader at the station, so the server
 * never sees card data: a CPU row has no `data` and no keys, and the server records what the station's library
 * reported instead — the card before the write (`card_observed`) and the read-back that confirmed or failed it
 * (`read_back`). Same tables, same sequence row and live-count index as memory cards.
 */
async function cpuCards(db: Kysely<any>): Promise<void> {
  // One column per statement: SQLite's ALTER TABLE adds one at a time.
  await db.schema.alterTable('ledger_transactions').addColumn('card_observed', 'text').execute();
  await db.schema.alterTable('ledger_transactions').addColumn('read_back', 'text').execute();
}

export const LEDGER_MIGRATIONS = [
  { name: 'ledger_0001_init', up: init },
  { name: 'ledger_0002_cpu_cards', up: cpuCards },
];
registerMigrations(LEDGER_MIGRATIONS);
// Imported cards' origin and the import batches (go-live); its own file, its own migration.
import './ledger-import-schema.ts';
