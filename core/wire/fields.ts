/**
 * The request fields the card and transaction routes share, and the error body every route answers with.
 * Ajv validates requests against them, Swagger shows them, and `Static<typeof X>` types the handlers.
 */
import { Type } from 'typebox';
import { CARD_TYPES, LIMITS } from '../cards/card-types.ts';
import { CARD_NO_PATTERN, HEX_PATTERN, IDEMPOTENCY_KEY_PATTERN, MAKER_ID_PATTERN, TX_ID_PATTERN } from './patterns.ts';
import { AnyObject, IntegerEnum, StringEnum } from './schema-kit.ts';

export const cardType = StringEnum(CARD_TYPES, { description: '4442 | 102 | cpu (cpu: station only; banks never)' });
export const cardData = Type.String({
  pattern: HEX_PATTERN,
  minLength: 2,
  maxLength: 512,
  description:
    'Card image as hex: 4442 = 512 hex; 102 = 300 hex (public zone 44 + zone 1 + zone 2); identify also takes the 102 public zone alone (44 hex)',
});
export const cardNo = Type.String({ pattern: CARD_NO_PATTERN, description: '卡号 kh: 1-32 digits' });
export const gas = Type.Integer({ minimum: 0, maximum: LIMITS.gasMax, description: '气量 ql: whole m³' });
export const count = Type.Integer({ minimum: 1, maximum: LIMITS.countMax, description: '次数 cs' });
export const meterKind = IntegerEnum([1, 2], { description: 'klx: 1 民用 residential, 2 工业 industrial' });
export const maker = Type.String({ pattern: MAKER_ID_PATTERN });
export const txId = Type.String({ pattern: TX_ID_PATTERN });

export const idempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 128,
      pattern: IDEMPOTENCY_KEY_PATTERN,
      description:
        'A retry with the same key returns the same result (same card data and keys); a different request under the same key is refused (422)',
    }),
  ),
});

/** Every error answer (core/server/api-errors.ts writes it). Nothing is required: a response schema only shapes. */
export const errorSchema = Type.Object({
  error: Type.Optional(
    Type.Object({
      code: Type.Optional(Type.String()),
      message: Type.Optional(Type.String()),
      messageZh: Type.Optional(Type.String()),
      messageEn: Type.Optional(Type.String()),
      details: Type.Optional(AnyObject()),
    }),
  ),
});
