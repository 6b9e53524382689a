/**
 * Request bodies of the /v1/cards routes (core/server/routes/cards.ts, adoption.ts). `Static<typeof X>` is the
 * body the handler gets (through the TypeBox type provider) and what a client such as the station sends.
 */
import { Type, type Static } from 'typebox';
import { LIMITS } from '../cards/card-types.ts';
import { cardData, cardNo, cardType, count, gas, maker, meterKind } from './fields.ts';
import { Nullable, StringEnum } from './schema-kit.ts';

/** Every card body refuses fields it does not know (a typo must not be silently ignored on a money path). */
const closed = { additionalProperties: false } as const;

export const toolName = Type.String({
  pattern: '^(CLEAR|CHECK|SETUP|VALVE_OPEN|VALVE_CLOSE|TRANSFER|CLOCK|REKEY|X_[A-Z0-9_]{1,30})$',
});
/**
 * Written out rather than with Type.Record, which publishes `patternProperties`: the API has always published
 * `additionalProperties` + `propertyNames`, which also refuse a badly named parameter.
 */
export const toolParams = Type.Unsafe<Record<string, string>>({
  type: 'object',
  maxProperties: 16,
  additionalProperties: { type: 'string', pattern: '^[0-9A-Za-z_.:-]{1,40}$' },
  propertyNames: { pattern: '^[A-Za-z][A-Za-z0-9_]{0,30}$' },
});

/** identify, read, format: a card as read. */
export const CardRefBody = Type.Object({ cardType, data: cardData }, closed);
export type CardRefBody = Static<typeof CardRefBody>;

export const IssueBody = Type.Object({ maker, cardType, cardNo, gas, meterKind }, closed);
export type IssueBody = Static<typeof IssueBody>;

export const ReissueBody = Type.Object(
  {
    maker,
    cardType,
    cardNo,
    gas: Type.With(gas, { description: '0, or the last sale not yet refunded (re-delivery)' }),
    meterKind,
    count,
  },
  closed,
);
export type ReissueBody = Static<typeof ReissueBody>;

export const PurchaseBody = Type.Object(
  {
    cardType,
    data: cardData,
    cardNo,
    gas: Type.With(gas, { minimum: 1 }),
    // Optional: the maker the station's read named. With it, a card the ledger knows under that maker alone is
    // identified by that maker's Check only (docs/architecture.md, "identify only where needed").
    maker: Type.Optional(maker),
  },
  closed,
);
export type PurchaseBody = Static<typeof PurchaseBody>;

export const RefundBody = Type.Object({ cardType, data: cardData, cardNo }, closed);
export type RefundBody = Static<typeof RefundBody>;

export const ToolBody = Type.Object(
  {
    maker,
    cardType,
    tool: toolName,
    params: Type.Optional(toolParams),
    data: Type.Optional(Type.With(cardData, { description: 'The card as read (optional; default: a blank card)' })),
  },
  closed,
);
export type ToolBody = Static<typeof ToolBody>;

export const AdoptBody = Type.Object(
  {
    cardType,
    data: cardData,
    cardNo,
    reason: Type.Optional(
      Type.String({ maxLength: 200, description: 'required of a counter (policy counter-with-reason)' }),
    ),
  },
  closed,
);
export type AdoptBody = Static<typeof AdoptBody>;

export const CPU_OPERATIONS = ['issue', 'reissue', 'purchase', 'refund', 'format', 'tool'] as const;

/** The card in a CPU reader as the maker library read it before the write (null: a blank card). */
export const CpuObserved = Type.Object(
  {
    cardNo,
    gas,
    count: Type.Integer({ minimum: 0, maximum: LIMITS.countMax }),
    meterKind: Type.Integer({ minimum: 0, maximum: 255 }),
    written: Type.Optional(
      Type.Boolean({ description: 'the meter has written back since the last sale (the gas counts as taken)' }),
    ),
  },
  closed,
);

export const CpuPrepareBody = Type.Object(
  {
    operation: StringEnum(CPU_OPERATIONS),
    maker,
    cardNo: Type.Optional(
      Type.With(cardNo, {
        description: 'issue/reissue: the new card number; purchase/refund/format: optional, must match observed',
      }),
    ),
    gas: Type.Optional(
      Type.With(gas, {
        description:
          'issue: gas on the new card; reissue: 0 or the last sale not refunded; purchase: gas to sell (≥ 1)',
      }),
    ),
    meterKind: Type.Optional(meterKind),
    count: Type.Optional(
      Type.With(count, {
        description: 'reissue only, optional: must equal the ledger count (the server uses the ledger count)',
      }),
    ),
    tool: Type.Optional(toolName),
    params: Type.Optional(toolParams),
    observed: Nullable(CpuObserved, {
      description: 'The card in the reader as the maker library read it (null: a blank card, for issue/reissue/tool)',
    }),
  },
  closed,
);
export type CpuPrepareBody = Static<typeof CpuPrepareBody>;
