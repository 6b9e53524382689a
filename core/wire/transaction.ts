/**
 * A ledger transaction on the wire: one definition for the server (core/ledger/ledger-present.ts builds it),
 * the route schemas that document and serialise it, and the station client that reads it
 * (core/station/central-client.ts).
 *
 * The route schemas publish the same JSON as before TypeBox: the documented fields, none required, and
 * `additionalProperties: true`, so fast-json-stringify passes the fields below that are sent but not (yet)
 * documented (actor, channel, clerk, error, tool, …). The TS types are the whole view: documented + sent.
 */
import { Type, type Static } from 'typebox';
import { errorSchema } from './fields.ts';
import { Nullable, StringEnum } from './schema-kit.ts';
import { TX_STATES } from './tx-states.ts';

export const TX_OPERATIONS = [
  'issue',
  'reissue',
  'purchase',
  'refund',
  'format',
  'tool',
  'rewrite',
  'cancel_reissue',
  'adopt',
] as const;
/** The states are the state machine's (tx-states.ts), so a new state reaches the wire schema with no edit here. */
export { TX_STATES };

/** What the route schemas document (and Swagger shows). */
const documented = {
  transactionId: Type.String(),
  operation: StringEnum(TX_OPERATIONS),
  baseOperation: Type.String(),
  state: StringEnum(TX_STATES),
  maker: Type.String(),
  cardType: Type.String(),
  cardNo: Nullable(Type.String()),
  gas: Nullable(Type.Integer()),
  count: Nullable(Type.Integer()),
  meterKind: Nullable(Type.Integer()),
  data: Nullable(Type.String(), { description: 'Card data to write (hex); null for format/erase' }),
  refId: Nullable(Type.String()),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  confirmedAt: Nullable(Type.String()),
};

/** Sent with every view but not in the published schema (documenting them would change the OpenAPI page). */
const sentAlso = {
  refundedGas: Type.Optional(Type.Integer()),
  tool: Type.Optional(Type.String()),
  toolParams: Type.Optional(Type.Record(Type.String(), Type.String())),
  /** Who wrote it: the token (its immutable id and its name at the time), its role and the channel. */
  actor: Type.Object({
    tokenId: Nullable(Type.String()),
    name: Type.String(),
    role: Type.String(),
    channel: Type.String(),
  }),
  /** The channel the sale came through (station, station-sim for training sales, bank, …). */
  channel: Type.String(),
  /** The clerk (营业员) the station named for this sale; null when none was named. */
  clerk: Nullable(Type.String()),
  /** Why a card was adopted (adopt only). */
  reason: Type.Optional(Type.String()),
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
};

const writeDocumented = {
  oldKey: Nullable(Type.String(), {
    description: 'Password to present before writing (never logged, encrypted at rest)',
  }),
  newKey: Nullable(Type.String(), { description: 'Password to set on the card' }),
  standIn: Type.Optional(Type.Boolean({ description: 'true: computed by a stand-in library / 替身库' })),
};

const writeSentAlso = {
  /** The stand-in label, with standIn. */
  library: Type.Optional(Type.String()),
  /** What the client does next with this write (CPU writes also link rewrite and reverse). */
  links: Type.Optional(
    Type.Object({
      self: Type.String(),
      confirm: Type.String(),
      rewrite: Type.Optional(Type.String()),
      reverse: Type.Optional(Type.String()),
    }),
  ),
};

/** A transaction as the API presents it (GET /v1/transactions/:id, confirm, reverse, a card's history). */
export const TxView = Type.Object({ ...documented, ...sentAlso });
export type TxView = Static<typeof TxView>;

/**
 * The answer to a write (201): the transaction plus the card data and keys to write. Memory-card writes carry
 * both keys (null when there is none); a CPU-card prepare carries neither, and the station's CPU path never
 * reads them.
 */
export const CardWriteView = Type.Object({ ...documented, ...sentAlso, ...writeDocumented, ...writeSentAlso });
export type CardWriteView = Static<typeof CardWriteView>;

/** Response schema of a transaction (serialises every field of TxView: see the header). */
export const txSchema = Type.Partial(Type.Object(documented), { additionalProperties: true });

/** Response schema of a write (201). */
export const cardWriteSchema = Type.Partial(Type.Object({ ...documented, ...writeDocumented }), {
  additionalProperties: true,
  description:
    'Recorded in the ledger (PREPARED) before this response left. Write `data` with `oldKey`, set `newKey`, read the card back, then confirm.',
});

export const writeResponses = { 201: cardWriteSchema, '4xx': errorSchema, '5xx': errorSchema };
