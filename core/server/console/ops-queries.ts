/**
 * Read-only queries the ops console needs and the domain stores do not offer: the ledger across cards
 * (stuck writes first) and one meter's reading history. Nothing here writes; every change goes through the
 * audited /v1 routes of its own domain.
 */
import { sql } from 'kysely';
import type { MeterHubDatabase } from '../../db/database.ts';
import type { LedgerCardRow, LedgerTxRow, TxState } from '../../ledger/ledger-schema.ts';
import { actionsFor, ACTIONS, isLive, LIVE_STATES, REWRITTEN_HINT, STATES, TX_STATES } from '../../wire/tx-states.ts';
import { rowToReading } from '../../readings/store.ts';
import type { NextStep, OpsTx } from '../../wire/ops.ts';

/** Re-exported for the console routes' state filter: the table in core/wire/tx-states.ts is the source. */
export { TX_STATES };

/**
 * A row of GET /v1/ops/transactions and its next steps: the wire's types (core/wire/ops.ts), which the console
 * reads too.
 */
export type { NextStep };
export type OpsTxRow = OpsTx;

type Row = Pick<
  LedgerTxRow,
  | 'id'
  | 'op'
  | 'base_op'
  | 'state'
  | 'maker'
  | 'card_type'
  | 'card_no'
  | 'gas'
  | 'count'
  | 'ref_id'
  | 'actor_name'
  | 'actor_role'
  | 'channel'
  | 'clerk'
  | 'error_code'
  | 'error_message'
  | 'created_at'
  | 'updated_at'
  | 'confirmed_at'
> & {
  card_pending: LedgerCardRow['pending_tx_id'] | null;
  card_last: LedgerCardRow['last_tx_id'] | null;
  replaced_by: string | null;
};

/**
 * The state machine's table (core/wire/tx-states.ts) evaluated on the row and its card, the same table the
 * ledger store enforces, so the console offers only steps that can succeed. The store still decides: a race
 * loses with a clear 409.
 */
export function nextStepsOf(r: Row): NextStep[] {
  const card = r.card_no !== null ? { pending: r.card_pending, last: r.card_last } : null;
  const out: NextStep[] = actionsFor({ id: r.id, state: r.state, baseOp: r.base_op }, card).map((action) => ({
    action,
    where: ACTIONS[action].where,
  }));
  if (r.state === REWRITTEN_HINT.state && r.replaced_by) {
    out.push({ action: REWRITTEN_HINT.nextStep, where: 'station', transactionId: r.replaced_by });
  }
  return out;
}

/** The console's list order (failed, then unconfirmed, then the rest), from the table. */
const LIST_ORDER = sql.raw(
  `case t.state ${TX_STATES.map((s) => `when '${s}' then ${STATES[s].listOrder}`).join(' ')} end`,
);

export interface TxQuery {
  state?: TxState[];
  maker?: string;
  cardNo?: string;
  limit?: number;
}

/** Unconfirmed and failed writes first (FAILED, then PREPARED), then everything else, newest first. */
export async function listTransactions(
  database: MeterHubDatabase,
  q: TxQuery,
): Promise<{ transactions: OpsTxRow[]; attention: number }> {
  const db = database.db;
  let query = db
    .selectFrom('ledger_transactions as t')
    .leftJoin('ledger_cards as c', (j) => j.onRef('c.maker', '=', 't.maker').onRef('c.card_no', '=', 't.card_no'))
    .select([
      't.id',
      't.op',
      't.base_op',
      't.state',
      't.maker',
      't.card_type',
      't.card_no',
      't.gas',
      't.count',
      't.ref_id',
      't.actor_name',
      't.actor_role',
      't.channel',
      't.clerk',
      't.error_code',
      't.error_message',
      't.created_at',
      't.updated_at',
      't.confirmed_at',
      'c.pending_tx_id as card_pending',
      'c.last_tx_id as card_last',
      (eb) =>
        eb
          .selectFrom('ledger_transactions as r')
          .select('r.id')
          .whereRef('r.ref_id', '=', 't.id')
          .where('r.op', '=', 'rewrite')
          .orderBy('r.created_at', 'desc')
          .limit(1)
          .as('replaced_by'),
    ]);
  if (q.state?.length) query = query.where('t.state', 'in', q.state);
  if (q.maker) query = query.where('t.maker', '=', q.maker);
  if (q.cardNo) query = query.where('t.card_no', '=', q.cardNo);
  const rows = (await query
    .orderBy(LIST_ORDER)
    .orderBy('t.created_at', 'desc')
    .orderBy('t.id', 'desc')
    .limit(Math.min(Math.max(q.limit ?? 100, 1), 500))
    .execute()) as Row[];

  let attentionQ = db
    .selectFrom('ledger_transactions')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('state', 'in', [...LIVE_STATES]);
  if (q.maker) attentionQ = attentionQ.where('maker', '=', q.maker);
  if (q.cardNo) attentionQ = attentionQ.where('card_no', '=', q.cardNo);
  const attention = Number((await attentionQ.executeTakeFirst())?.n ?? 0);

  return {
    attention,
    transactions: rows.map((r) => ({
      transactionId: r.id,
      operation: r.op,
      baseOperation: r.base_op,
      state: r.state,
      maker: r.maker,
      cardType: r.card_type,
      cardNo: r.card_no,
      gas: r.gas,
      count: r.count,
      refId: r.ref_id,
      actor: { name: r.actor_name, role: r.actor_role, channel: r.channel },
      channel: r.channel,
      clerk: r.clerk ?? null,
      error: r.error_code ? { code: r.error_code, message: r.error_message ?? '' } : null,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      confirmedAt: r.confirmed_at,
      needsAttention: isLive(r.state),
      nextSteps: nextStepsOf(r),
    })),
  };
}

export interface MeterSummary {
  meterId: string;
  maker: string;
  readings: number;
  lastReceivedAt: string;
}

/** Meters that have readings, most recently heard first (the console's meter picker). */
export async function listMeters(
  database: MeterHubDatabase,
  o: { prefix?: string; limit?: number } = {},
): Promise<MeterSummary[]> {
  let q = database.db
    .selectFrom('readings')
    .select([
      'meter_id',
      (eb) => eb.fn.max('maker').as('maker'),
      (eb) => eb.fn.countAll().as('n'),
      (eb) => eb.fn.max('received_at').as('last'),
    ])
    .groupBy('meter_id');
  if (o.prefix) q = q.where('meter_id', 'like', `${o.prefix.replace(/[%_\\]/g, '')}%`);
  const rows = await q
    .orderBy(sql`max(received_at)`, 'desc')
    .limit(Math.min(o.limit ?? 200, 1000))
    .execute();
  return rows.map((r: any) => ({ meterId: r.meter_id, maker: r.maker, readings: Number(r.n), lastReceivedAt: r.last }));
}

export interface MeterPoint {
  id: string;
  meterTime: string | null;
  receivedAt: string;
  /** m³ as decimal strings, exactly as stored (never floats on the way out). */
  cumulative: string | null;
  settlement: string | null;
  source: string;
  valve: string | null;
  lowBattery: boolean;
}

/**
 * One meter's newest readings, returned oldest first for the chart. Ordered by when the meter says it
 * measured (falling back to arrival), which is what a consumption curve is about.
 */
export async function meterHistory(database: MeterHubDatabase, meterId: string, limit = 500): Promise<MeterPoint[]> {
  const rows = await database.db
    .selectFrom('readings')
    .selectAll()
    .where('meter_id', '=', meterId)
    .orderBy(sql`coalesce(meter_time, received_at)`, 'desc')
    .orderBy('seq', 'desc')
    .limit(Math.min(Math.max(limit, 1), 5000))
    .execute();
  return rows.reverse().map((row) => {
    const r = rowToReading(row);
    return {
      id: r.id,
      meterTime: r.meterTime,
      receivedAt: r.receivedAt,
      cumulative: r.cumulative,
      settlement: r.settlement,
      source: r.source,
      valve: r.status?.valve ?? null,
      lowBattery: r.status?.lowBattery === true,
    };
  });
}
