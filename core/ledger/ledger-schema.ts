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
import type { DialectName } from '../db/database.ts';
import type { DomainMigration } from '../db/migrations.ts';
import type { TxState } from '../wire/tx-states.ts';
import type { TX_OPERATIONS } from '../wire/transaction.ts';

/** The operations as the wire names them (core/wire/transaction.ts), one list for the ledger and its API. */
export type TxOp = (typeof TX_OPERATIONS)[number];
/** The states and their rules live in the state machine's one table. */
export type { TxState } from '../wire/tx-states.ts';

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
  /**
   * ledger_0002: JSON of the card as read before the write (for CPU cards: as the station's maker library
   * reported it).
   */
  card_observed: string | null;
  /** ledger_0002: JSON of the last CPU read-back the station reported (confirm/reverse); null for memory cards. */
  read_back: string | null;
  /** ledger_0003: why a card was adopted (adopt only). Optional: older writers do not set it. */
  reason?: string | null;
  /** ledger_0004: the immutable id of the API token that wrote this row (null: none could be matched). */
  actor_token_id: string | null;
  /** ledger_0004: the clerk (营业员) the station named for this sale (X-MeterHub-Clerk); null when none. */
  clerk: string | null;
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
  await db.schema
    .createTable('ledger_cards')
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

  await db.schema
    .createTable('ledger_transactions')
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
    .addCheckConstraint(
      'ledger_tx_state_ck',
      sql`state in ('PREPARED','CONFIRMED','FAILED','REVERSED','REWRITTEN','CANCELLED')`,
    )
    .addCheckConstraint('ledger_tx_live_ck', sql`seq_live in (0, 1)`)
    .execute();
  // Partial indexes are plain SQL on both engines.
  await sql`create unique index ledger_tx_live_count on ledger_transactions (maker, card_no, count) where seq_live = 1`.execute(
    db,
  );
  await db.schema
    .createIndex('ledger_tx_card')
    .on('ledger_transactions')
    .columns(['maker', 'card_no', 'created_at'])
    .execute();

  await db.schema
    .createTable('ledger_idempotency')
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

/**
 * Tokens are identified by their immutable id, not their name: a new token that reuses a revoked token's name
 * must inherit nothing (no replay of its Idempotency-Keys and card keys, no rewrite of its writes). Rows
 * written before this migration are matched to the token that held the name when the row was written (the
 * newest token of that name created no later than the row); idempotency records that match no token are
 * moved to a `legacy:` scope no token has, so they can never be replayed. Also the clerk column.
 */
async function tokenIdsAndClerk(db: Kysely<any>, dialect: DialectName): Promise<void> {
  await db.schema.alterTable('ledger_transactions').addColumn('actor_token_id', 'text').execute();
  await db.schema.alterTable('ledger_transactions').addColumn('clerk', 'text').execute();
  await backfillTokenIds(db, dialect);
  await db.schema.createIndex('ledger_tx_token').on('ledger_transactions').column('actor_token_id').execute();
}

/** The data part of ledger_0004 (exported for its test): rows written by name are tied to token ids. Runs once. */
export async function backfillTokenIds(db: Kysely<any>, dialect: DialectName): Promise<void> {
  // A database that only ever held the ledger (tests, tools) has no token table: nothing can be matched.
  const tokens =
    dialect === 'postgres'
      ? await sql<{ t: string | null }>`select to_regclass('api_tokens')::text as t`.execute(db)
      : await sql<{
          t: string | null;
        }>`select name as t from sqlite_master where type = 'table' and name = 'api_tokens'`.execute(db);
  const haveTokens = tokens.rows.some((r) => r.t);
  if (haveTokens) {
    await sql`update ledger_transactions set actor_token_id = (
      select t.id from api_tokens t where t.name = ledger_transactions.actor_name and t.created_at <= ledger_transactions.created_at
      order by t.created_at desc limit 1) where actor_token_id is null`.execute(db);
    await sql`update ledger_idempotency set scope = coalesce((
      select t.id from api_tokens t where t.name = ledger_idempotency.scope and t.created_at <= ledger_idempotency.created_at
      order by t.created_at desc limit 1), 'legacy:' || scope)`.execute(db);
  } else {
    await sql`update ledger_idempotency set scope = 'legacy:' || scope`.execute(db);
  }
}

export const LEDGER_MIGRATIONS: DomainMigration[] = [
  { name: 'ledger_0001_init', up: init },
  { name: 'ledger_0002_cpu_cards', up: cpuCards },
  { name: 'ledger_0004_token_ids_and_clerk', up: tokenIdsAndClerk },
];
