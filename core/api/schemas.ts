/** JSON schemas shared by the card and transaction routes (Ajv validates every request; Swagger shows them). */
import { LIMITS } from '../cards/card-types.ts';

export const cardType = { type: 'string', enum: ['4442', '102', 'cpu'], description: '4442 | 102 | cpu (cpu: station only; banks never)' } as const;
export const cardData = {
  type: 'string', pattern: '^[0-9A-Fa-f]+$', minLength: 2, maxLength: 512,
  description: 'Card image as hex: 4442 = 512 hex; 102 = 300 hex (public zone 44 + zone 1 + zone 2); identify also takes the 102 public zone alone (44 hex)',
} as const;
export const cardNo = { type: 'string', pattern: '^[0-9]{1,32}$', description: '卡号 kh: 1-32 digits' } as const;
export const gas = { type: 'integer', minimum: 0, maximum: LIMITS.gasMax, description: '气量 ql: whole m³' } as const;
export const count = { type: 'integer', minimum: 1, maximum: LIMITS.countMax, description: '次数 cs' } as const;
export const meterKind = { type: 'integer', enum: [1, 2], description: 'klx: 1 民用 residential, 2 工业 industrial' } as const;
export const maker = { type: 'string', pattern: '^[a-z][a-z0-9-]{1,39}$' } as const;
export const txId = { type: 'string', pattern: '^tx_[0-9a-z]{9,40}$' } as const;

export const idempotencyHeaders = {
  type: 'object',
  properties: {
    'idempotency-key': {
      type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:-]+$',
      description: 'A retry with the same key returns the same result (same card data and keys); a different request under the same key is refused (422)',
    },
  },
} as const;

export const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string' }, message: { type: 'string' }, messageZh: { type: 'string' }, messageEn: { type: 'string' },
        details: { type: 'object', additionalProperties: true },
      },
    },
  },
} as const;

const txProps = {
  transactionId: { type: 'string' },
  operation: { type: 'string', enum: ['issue', 'reissue', 'purchase', 'refund', 'format', 'tool', 'rewrite', 'cancel_reissue', 'adopt'] },
  baseOperation: { type: 'string' },
  state: { type: 'string', enum: ['PREPARED', 'CONFIRMED', 'FAILED', 'REVERSED', 'REWRITTEN', 'CANCELLED'] },
  maker: { type: 'string' },
  cardType: { type: 'string' },
  cardNo: { type: ['string', 'null'] },
  gas: { type: ['integer', 'null'] },
  count: { type: ['integer', 'null'] },
  meterKind: { type: ['integer', 'null'] },
  data: { type: ['string', 'null'], description: 'Card data to write (hex); null for format/erase' },
  refId: { type: ['string', 'null'] },
  createdAt: { type: 'string' },
  updatedAt: { type: 'string' },
  confirmedAt: { type: ['string', 'null'] },
} as const;

export const txSchema = { type: 'object', additionalProperties: true, properties: txProps } as const;

export const cardWriteSchema = {
  type: 'object',
  additionalProperties: true,
  description: 'Recorded in the ledger (PREPARED) before this response left. Write `data` with `oldKey`, set `newKey`, read the card back, then confirm.',
  properties: {
    ...txProps,
    oldKey: { type: ['string', 'null'], description: 'Password to present before writing (never logged, encrypted at rest)' },
    newKey: { type: ['string', 'null'], description: 'Password to set on the card' },
    standIn: { type: 'boolean', description: 'true: computed by a stand-in library / 替身库' },
  },
} as const;

export const writeResponses = { 201: cardWriteSchema, '4xx': errorSchema, '5xx': errorSchema } as const;
