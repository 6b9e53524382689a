/** Request parts of the /v1/transactions routes (core/server/routes/transactions.ts). */
import { Type, type Static } from 'typebox';
import { cardData, cardNo, gas, maker, txId } from './fields.ts';
import { Nullable, StringEnum } from './schema-kit.ts';

export const TxIdParams = Type.Object({ id: txId });
export type TxIdParams = Static<typeof TxIdParams>;

/** GET /v1/transactions: one card's history. */
export const CardHistoryQuery = Type.Object({ maker, cardNo }, { additionalProperties: false });
export type CardHistoryQuery = Static<typeof CardHistoryQuery>;

/** CPU cards: the card after the write, as the maker library at the station read it back. */
export const CpuReadBack = Type.Object(
  {
    kind: Type.Optional(StringEnum(['user', 'tool', 'blank'])),
    cardNo: Type.Optional(cardNo),
    gas: Type.Optional(gas),
    count: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
    meterKind: Type.Optional(Type.Integer({ minimum: 0, maximum: 255 })),
  },
  {
    additionalProperties: false,
    description:
      'CPU cards: the card as the maker library read it back at the station (kind defaults to user when cardNo is given)',
  },
);
export type CpuReadBack = Static<typeof CpuReadBack>;

/** Exactly one of: memory cards `data`, CPU cards `readBack`. */
export const ConfirmBody = Type.Object(
  {
    data: Type.Optional(Type.With(cardData, { description: 'Memory cards: the card data read back (hex)' })),
    readBack: Type.Optional(CpuReadBack),
  },
  { additionalProperties: false, minProperties: 1, maxProperties: 1 },
);
export type ConfirmBody = Static<typeof ConfirmBody>;

/** Rewrite takes no body (or an empty object). */
export const RewriteBody = Nullable(Type.Object({}, { additionalProperties: false }));

export const ReverseBody = Nullable(
  Type.Object(
    {
      data: Type.Optional(
        Type.With(cardData, {
          description: 'Memory cards, optional card read-back: if it shows this write, the reversal is refused',
        }),
      ),
      readBack: Type.Optional(
        Type.With(CpuReadBack, {
          description:
            'CPU cards: the card read back by the maker library; must show the card as before the write (required unless ops)',
        }),
      ),
    },
    { additionalProperties: false },
  ),
);
export type ReverseBody = Static<typeof ReverseBody>;

export const CancelReissueBody = Type.Object(
  { data: Type.With(cardData, { description: 'The replacement card as read' }) },
  { additionalProperties: false },
);
export type CancelReissueBody = Static<typeof CancelReissueBody>;
