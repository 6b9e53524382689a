/**
 * The string patterns the wire shares, written once. Route schemas (core/wire/*.ts), the station's own routes,
 * the plugin manifest check and the console's forms all take them from here, so a maker id or a card number
 * can never be valid in one place and refused in another.
 *
 * No imports on purpose: the console bundles this file, and a JSON Schema `pattern` and a RegExp must be the
 * same text.
 */

/** A maker's plugin id (kingcard, chint, …): also the `maker` of every card and transaction. */
export const MAKER_ID_PATTERN = '^[a-z][a-z0-9-]{1,39}$';
/** 卡号 kh as the API takes it: 1-32 digits. */
export const CARD_NO_PATTERN = '^[0-9]{1,32}$';
/** The ops console's card-number search: letters too, so ops can look up a number a maker printed oddly. */
export const CARD_NO_SEARCH_PATTERN = '^[0-9A-Za-z]{1,32}$';
/** A ledger transaction id. */
export const TX_ID_PATTERN = '^tx_[0-9a-z]{9,40}$';
/** An Idempotency-Key header (length is limited by the schema: 1-128). */
export const IDEMPOTENCY_KEY_PATTERN = '^[A-Za-z0-9_.:-]+$';
/** A card image as hex (length limits are per schema). */
export const HEX_PATTERN = '^[0-9A-Fa-f]+$';
/** A remote-read meter address as the ops views take it (CJ/T 188 addresses are hex). */
export const METER_ADDRESS_PATTERN = '^[0-9A-Fa-f]{1,32}$';

const makerIdRe = new RegExp(MAKER_ID_PATTERN);
const cardNoRe = new RegExp(CARD_NO_PATTERN);

/** Hand-written checks use these instead of a regex literal of their own. */
export function isMakerId(v: unknown): v is string {
  return typeof v === 'string' && makerIdRe.test(v);
}

export function isCardNo(v: unknown): v is string {
  return typeof v === 'string' && cardNoRe.test(v);
}
