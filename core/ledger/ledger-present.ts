/** How a ledger transaction looks on the API. Keys appear only in the response of the write that made them. */
import type { TxView } from '../wire/transaction.ts';
import type { LedgerTxRow } from './ledger-schema.ts';

/**
 * The view's schema and type are the wire's (core/wire/transaction.ts): the routes serialise it, the station
 * reads it.
 */
export type { TxView };

export function presentTx(r: LedgerTxRow): TxView {
  return {
    transactionId: r.id,
    operation: r.op,
    baseOperation: r.base_op,
    state: r.state,
    maker: r.maker,
    cardType: r.card_type,
    cardNo: r.card_no,
    gas: r.gas,
    count: r.count,
    meterKind: r.meter_kind,
    ...(r.refunded_gas !== null ? { refundedGas: r.refunded_gas } : {}),
    ...(r.tool
      ? { tool: r.tool, toolParams: r.tool_params ? (JSON.parse(r.tool_params) as Record<string, string>) : {} }
      : {}),
    data: r.data,
    refId: r.ref_id,
    actor: { tokenId: r.actor_token_id ?? null, name: r.actor_name, role: r.actor_role, channel: r.channel },
    channel: r.channel,
    clerk: r.clerk ?? null,
    ...(r.reason ? { reason: r.reason } : {}),
    ...(r.error_code ? { error: { code: r.error_code, message: r.error_message ?? '' } } : {}),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    confirmedAt: r.confirmed_at,
  };
}

/**
 * What the API adds to a new transaction's view before it is stored as the idempotent answer: plain data, not
 * a callback, because the commit may run on the ledger thread (core/ledger/thread/).
 */
export interface Decoration {
  /** Merged over the view (the stand-in label, for one). */
  fields: Record<string, unknown>;
  /** CPU-card writes also link their rewrite and reverse (the station drives them). */
  cpuLinks: boolean;
}

export function decorateView(view: TxView, d: Decoration): Record<string, unknown> {
  const self = `/v1/transactions/${view.transactionId}`;
  return {
    ...view,
    ...d.fields,
    links: {
      self,
      confirm: `${self}/confirm`,
      ...(d.cpuLinks ? { rewrite: `${self}/rewrite`, reverse: `${self}/reverse` } : {}),
    },
  };
}
