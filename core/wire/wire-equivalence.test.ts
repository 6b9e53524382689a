/**
 * The TypeBox schemas publish the JSON the hand-written schemas published (before core/wire existed), so
 * validation (Ajv), serialisation (fast-json-stringify) and the OpenAPI page are unchanged. The hand-written
 * literals are kept here as fixtures, copied from core/api/schemas.ts and core/api/routes/cards.ts as they were.
 */
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { CpuPrepareBody, PurchaseBody } from './card-requests.ts';
import { errorSchema, idempotencyHeaders } from './fields.ts';
import { ConfirmBody } from './transaction-requests.ts';
import { cardWriteSchema, txSchema } from './transaction.ts';

// ---- fixtures: the schemas as they were written by hand (LIMITS inlined)
const before = {
  cardType: {
    type: 'string',
    enum: ['4442', '102', 'cpu'],
    description: '4442 | 102 | cpu (cpu: station only; banks never)',
  },
  cardData: {
    type: 'string',
    pattern: '^[0-9A-Fa-f]+$',
    minLength: 2,
    maxLength: 512,
    description:
      'Card image as hex: 4442 = 512 hex; 102 = 300 hex (public zone 44 + zone 1 + zone 2); identify also takes the 102 public zone alone (44 hex)',
  },
  cardNo: { type: 'string', pattern: '^[0-9]{1,32}$', description: '卡号 kh: 1-32 digits' },
  gas: { type: 'integer', minimum: 0, maximum: 99_999_999, description: '气量 ql: whole m³' },
  count: { type: 'integer', minimum: 1, maximum: 32_767, description: '次数 cs' },
  meterKind: { type: 'integer', enum: [1, 2], description: 'klx: 1 民用 residential, 2 工业 industrial' },
  maker: { type: 'string', pattern: '^[a-z][a-z0-9-]{1,39}$' },
};
const beforeTxProps = {
  transactionId: { type: 'string' },
  operation: {
    type: 'string',
    enum: ['issue', 'reissue', 'purchase', 'refund', 'format', 'tool', 'rewrite', 'cancel_reissue', 'adopt'],
  },
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
};
const beforeSchemas = {
  txSchema: { type: 'object', additionalProperties: true, properties: beforeTxProps },
  cardWriteSchema: {
    type: 'object',
    additionalProperties: true,
    description:
      'Recorded in the ledger (PREPARED) before this response left. Write `data` with `oldKey`, set `newKey`, read the card back, then confirm.',
    properties: {
      ...beforeTxProps,
      oldKey: {
        type: ['string', 'null'],
        description: 'Password to present before writing (never logged, encrypted at rest)',
      },
      newKey: { type: ['string', 'null'], description: 'Password to set on the card' },
      standIn: { type: 'boolean', description: 'true: computed by a stand-in library / 替身库' },
    },
  },
  errorSchema: {
    type: 'object',
    properties: {
      error: {
        type: 'object',
        properties: {
          code: { type: 'string' },
          message: { type: 'string' },
          messageZh: { type: 'string' },
          messageEn: { type: 'string' },
          details: { type: 'object', additionalProperties: true },
        },
      },
    },
  },
  idempotencyHeaders: {
    type: 'object',
    properties: {
      'idempotency-key': {
        type: 'string',
        minLength: 1,
        maxLength: 128,
        pattern: '^[A-Za-z0-9_.:-]+$',
        description:
          'A retry with the same key returns the same result (same card data and keys); a different request under the same key is refused (422)',
      },
    },
  },
  purchaseBody: {
    type: 'object',
    additionalProperties: false,
    required: ['cardType', 'data', 'cardNo', 'gas'],
    properties: {
      cardType: before.cardType,
      data: before.cardData,
      cardNo: before.cardNo,
      gas: { ...before.gas, minimum: 1 },
      // Issue 17: the maker the station's read named, optional (identify only where needed).
      maker: before.maker,
    },
  },
  cpuPrepareBody: {
    type: 'object',
    additionalProperties: false,
    required: ['operation', 'maker', 'observed'],
    properties: {
      operation: { type: 'string', enum: ['issue', 'reissue', 'purchase', 'refund', 'format', 'tool'] },
      maker: before.maker,
      cardNo: {
        ...before.cardNo,
        description: 'issue/reissue: the new card number; purchase/refund/format: optional, must match observed',
      },
      gas: {
        ...before.gas,
        description:
          'issue: gas on the new card; reissue: 0 or the last sale not refunded; purchase: gas to sell (≥ 1)',
      },
      meterKind: before.meterKind,
      count: {
        ...before.count,
        description: 'reissue only, optional: must equal the ledger count (the server uses the ledger count)',
      },
      tool: {
        type: 'string',
        pattern: '^(CLEAR|CHECK|SETUP|VALVE_OPEN|VALVE_CLOSE|TRANSFER|CLOCK|REKEY|X_[A-Z0-9_]{1,30})$',
      },
      params: {
        type: 'object',
        maxProperties: 16,
        additionalProperties: { type: 'string', pattern: '^[0-9A-Za-z_.:-]{1,40}$' },
        propertyNames: { pattern: '^[A-Za-z][A-Za-z0-9_]{0,30}$' },
      },
      observed: {
        type: ['object', 'null'],
        additionalProperties: false,
        required: ['cardNo', 'gas', 'count', 'meterKind'],
        description: 'The card in the reader as the maker library read it (null: a blank card, for issue/reissue/tool)',
        properties: {
          cardNo: before.cardNo,
          gas: before.gas,
          count: { type: 'integer', minimum: 0, maximum: 32_767 },
          meterKind: { type: 'integer', minimum: 0, maximum: 255 },
          written: {
            type: 'boolean',
            description: 'the meter has written back since the last sale (the gas counts as taken)',
          },
        },
      },
    },
  },
  confirmBody: {
    type: 'object',
    additionalProperties: false,
    minProperties: 1,
    maxProperties: 1,
    properties: {
      data: { ...before.cardData, description: 'Memory cards: the card data read back (hex)' },
      readBack: {
        type: 'object',
        additionalProperties: false,
        description:
          'CPU cards: the card as the maker library read it back at the station (kind defaults to user when cardNo is given)',
        properties: {
          kind: { type: 'string', enum: ['user', 'tool', 'blank'] },
          cardNo: before.cardNo,
          gas: before.gas,
          count: { type: 'integer', minimum: 0, maximum: 65535 },
          meterKind: { type: 'integer', minimum: 0, maximum: 255 },
        },
      },
    },
  },
};
const after = {
  txSchema,
  cardWriteSchema,
  errorSchema,
  idempotencyHeaders,
  purchaseBody: PurchaseBody,
  cpuPrepareBody: CpuPrepareBody,
  confirmBody: ConfirmBody,
};

/** As JSON goes to Ajv, fast-json-stringify and Swagger (TypeBox's own markers are not enumerable). */
const json = (s: unknown) => JSON.parse(JSON.stringify(s)) as unknown;

describe('wire schemas: the JSON is what the hand-written schemas were', () => {
  for (const name of Object.keys(beforeSchemas) as Array<keyof typeof beforeSchemas>) {
    it(name, () => {
      expect(json(after[name])).toEqual(beforeSchemas[name]);
      // toEqual ignores key order, which no consumer depends on; `required` is an array and keeps its order.
    });
  }
});

describe('wire schemas: the same inputs are accepted and refused, with the same errors', () => {
  // The server's Ajv options (core/server/app.ts).
  const ajv = () => new Ajv({ coerceTypes: false, removeAdditional: false, allErrors: true, strict: false });
  const verdicts = (schema: unknown, inputs: unknown[]) => {
    const validate = ajv().compile(json(schema) as object);
    return inputs.map((input) => {
      const copy = structuredClone(input);
      const ok = validate(copy);
      return {
        ok,
        errors: (validate.errors ?? []).map((e) => `${e.instancePath} ${e.keyword} ${JSON.stringify(e.params)}`).sort(),
      };
    });
  };
  const card = 'A2'.repeat(256);
  const purchases: unknown[] = [
    { cardType: '4442', data: card, cardNo: '123', gas: 5 },
    { cardType: '4442', data: card, cardNo: '123', gas: 0 },
    { cardType: '4442', data: card, cardNo: '123', gas: '5' },
    { cardType: '4442', data: card, cardNo: '123', gas: 1.5 },
    { cardType: '4442', data: card, cardNo: '123', gas: 100_000_000 },
    { cardType: '4443', data: card, cardNo: '12a', gas: 5 },
    { cardType: '4442', data: 'zz', cardNo: '', gas: 5 },
    { cardType: '4442', data: card, cardNo: '1'.repeat(33), gas: 5, extra: true },
    { cardType: 'cpu', data: 'AB', cardNo: '1', gas: 99_999_999 },
    { data: card, cardNo: '123' },
    null,
    [],
    'purchase',
  ];
  const prepares: unknown[] = [
    {
      operation: 'purchase',
      maker: 'tancy',
      cardNo: '1',
      gas: 3,
      observed: { cardNo: '1', gas: 0, count: 0, meterKind: 1, written: true },
    },
    { operation: 'issue', maker: 'tancy', cardNo: '1', gas: 3, meterKind: 2, observed: null },
    { operation: 'tool', maker: 'tancy', tool: 'X_FOO', params: { a1: 'x:y' }, observed: null },
    { operation: 'tool', maker: 'tancy', tool: 'foo', params: { '1a': 'x y' }, observed: null },
    { operation: 'adopt', maker: 'T', observed: { cardNo: '1', gas: -1, count: 40_000, meterKind: 256 } },
    { operation: 'purchase', maker: 'tancy', count: 0, observed: { cardNo: '1', gas: 0, count: 0 } },
    { operation: 'purchase', maker: 'tancy' },
  ];
  const confirms: unknown[] = [
    { data: card },
    { readBack: { kind: 'user', cardNo: '1', gas: 1, count: 2, meterKind: 1 } },
    {},
    { data: card, readBack: {} },
    { readBack: { kind: 'meter', count: 70_000 } },
    { data: 'x' },
  ];

  it('purchase body', () => {
    const old = verdicts(beforeSchemas.purchaseBody, purchases);
    expect(verdicts(PurchaseBody, purchases)).toEqual(old);
    // The table does exercise both sides of the schema.
    expect(old.map((v) => v.ok)).toEqual([
      true,
      false,
      false,
      false,
      false,
      false,
      false,
      false,
      true,
      false,
      false,
      false,
      false,
    ]);
  });

  it('CPU prepare body', () => {
    const old = verdicts(beforeSchemas.cpuPrepareBody, prepares);
    expect(verdicts(CpuPrepareBody, prepares)).toEqual(old);
    expect(old.map((v) => v.ok)).toEqual([true, true, true, false, false, false, false]);
  });

  it('confirm body', () => {
    const old = verdicts(beforeSchemas.confirmBody, confirms);
    expect(verdicts(ConfirmBody, confirms)).toEqual(old);
    expect(old.map((v) => v.ok)).toEqual([true, true, false, false, false, false]);
  });
});
