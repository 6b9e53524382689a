/**
 * /v1/cards/*: identify, read, and every operation that produces card data (recorded before it leaves);
 * /v1/cards/cpu/prepare: a CPU-card write recorded before the station's maker library touches the card;
 * /v1/cards/{maker}/{cardNo}: the card's ledger row.
 */
import type { FastifyInstance } from 'fastify';
import { rolesFor } from '../../auth/roles.ts';
import type { CardType } from '../../cards/card-types.ts';
import type { CardService, CpuPrepareBody } from '../../ledger/card-service.ts';
import { LIMITS } from '../../cards/card-types.ts';
import { authorize, cpuGuard, cpuRouteGuard } from '../auth-hooks.ts';
import { actorOf, idemOf, sendWrite } from '../request-context.ts';
import * as S from '../schemas.ts';

type Ref = { cardType: CardType; data: string };

const body = (required: string[], properties: Record<string, unknown>) =>
  ({ type: 'object', additionalProperties: false, required, properties }) as const;

export async function cardRoutes(app: FastifyInstance, opts: { cards: CardService }): Promise<void> {
  const svc = opts.cards;
  const guard = (p: Parameters<typeof rolesFor>[0]) => [authorize(rolesFor(p)), cpuGuard];
  const tags = ['cards'];
  const toolName = { type: 'string', pattern: '^(CLEAR|CHECK|SETUP|VALVE_OPEN|VALVE_CLOSE|TRANSFER|CLOCK|REKEY|X_[A-Z0-9_]{1,30})$' } as const;
  const toolParams = {
    type: 'object', maxProperties: 16, additionalProperties: { type: 'string', pattern: '^[0-9A-Za-z_.:-]{1,40}$' },
    propertyNames: { pattern: '^[A-Za-z][A-Za-z0-9_]{0,30}$' },
  } as const;

  app.post<{ Body: Ref }>('/v1/cards/identify', {
    preHandler: guard('cards.identify'),
    schema: {
      tags, summary: '判卡 / Identify a card', body: body(['cardType', 'data'], { cardType: S.cardType, data: S.cardData }),
      response: {
        200: {
          type: 'object', properties: {
            maker: { type: 'string' }, makerName: { type: ['object', 'null'], additionalProperties: true }, kind: { type: 'string', enum: ['user', 'tool'] },
            oldKey: { type: 'string', description: '102 only: the password to read zones 1 and 2' }, standIn: { type: 'boolean' }, library: { type: 'string' },
          },
        },
        '4xx': S.errorSchema, '5xx': S.errorSchema,
      },
    },
  }, async (req, reply) => {
    reply.header('cache-control', 'no-store');
    return svc.identify(req.body);
  });

  app.post<{ Body: Ref }>('/v1/cards/read', {
    preHandler: guard('cards.read'),
    schema: {
      tags, summary: '读卡（含表回写）/ Read a card with the meter write-back', body: body(['cardType', 'data'], { cardType: S.cardType, data: S.cardData }),
      response: { 200: { type: 'object', additionalProperties: true }, '4xx': S.errorSchema, '5xx': S.errorSchema },
    },
  }, async (req) => svc.read(req.body));

  app.post<{ Body: { maker: string; cardType: CardType; cardNo: string; gas: number; meterKind: number } }>('/v1/cards/issue', {
    preHandler: guard('cards.issue'),
    schema: {
      tags, summary: '发新卡（次数为1）/ Issue a new card (count 1)', headers: S.idempotencyHeaders,
      body: body(['maker', 'cardType', 'cardNo', 'gas', 'meterKind'], { maker: S.maker, cardType: S.cardType, cardNo: S.cardNo, gas: S.gas, meterKind: S.meterKind }),
      response: S.writeResponses,
    },
  }, async (req, reply) => sendWrite(req, reply, await svc.issue(actorOf(req), req.body, idemOf(req))));

  app.post<{ Body: { maker: string; cardType: CardType; cardNo: string; gas: number; meterKind: number; count: number } }>('/v1/cards/reissue', {
    preHandler: guard('cards.reissue'),
    schema: {
      tags, summary: '补卡（次数=台账实际次数）/ Reissue a lost card with the ledger count', headers: S.idempotencyHeaders,
      body: body(['maker', 'cardType', 'cardNo', 'gas', 'meterKind', 'count'], {
        maker: S.maker, cardType: S.cardType, cardNo: S.cardNo, gas: { ...S.gas, description: '0, or the last sale not yet refunded (re-delivery)' },
        meterKind: S.meterKind, count: S.count,
      }),
      response: S.writeResponses,
    },
  }, async (req, reply) => sendWrite(req, reply, await svc.reissue(actorOf(req), req.body, idemOf(req))));

  app.post<{ Body: Ref & { cardNo: string; gas: number } }>('/v1/cards/purchase', {
    preHandler: guard('cards.purchase'),
    schema: {
      tags, summary: '购气（服务器决定次数=卡上次数+1）/ Purchase gas (the server sets count = card count + 1)', headers: S.idempotencyHeaders,
      body: body(['cardType', 'data', 'cardNo', 'gas'], { cardType: S.cardType, data: S.cardData, cardNo: S.cardNo, gas: { ...S.gas, minimum: 1 } }),
      response: S.writeResponses,
    },
  }, async (req, reply) => sendWrite(req, reply, await svc.purchase(actorOf(req), req.body, idemOf(req))));

  app.post<{ Body: Ref & { cardNo: string } }>('/v1/cards/refund', {
    preHandler: guard('cards.refund'),
    schema: {
      tags, summary: '退气（气量0，次数不变）/ Refund (gas 0, same count)', headers: S.idempotencyHeaders,
      body: body(['cardType', 'data', 'cardNo'], { cardType: S.cardType, data: S.cardData, cardNo: S.cardNo }),
      response: S.writeResponses,
    },
  }, async (req, reply) => sendWrite(req, reply, await svc.refund(actorOf(req), req.body, idemOf(req))));

  app.post<{ Body: Ref }>('/v1/cards/format', {
    preHandler: guard('cards.format'),
    schema: {
      tags, summary: '擦卡 / Format (erase) a card — returns the key to present; data is null', headers: S.idempotencyHeaders,
      body: body(['cardType', 'data'], { cardType: S.cardType, data: S.cardData }),
      response: S.writeResponses,
    },
  }, async (req, reply) => sendWrite(req, reply, await svc.format(actorOf(req), req.body, idemOf(req))));

  app.post<{ Body: { maker: string; cardType: CardType; tool: string; params?: Record<string, string>; data?: string } }>('/v1/cards/tool', {
    preHandler: guard('cards.tool'),
    schema: {
      tags, summary: '制作工具卡 / Make a tool card', headers: S.idempotencyHeaders,
      body: body(['maker', 'cardType', 'tool'], {
        maker: S.maker, cardType: S.cardType,
        tool: toolName,
        params: toolParams,
        data: { ...S.cardData, description: 'The card as read (optional; default: a blank card)' },
      }),
      response: S.writeResponses,
    },
  }, async (req, reply) => sendWrite(req, reply, await svc.tool(actorOf(req), req.body, idemOf(req))));

  app.post<{ Body: CpuPrepareBody }>('/v1/cards/cpu/prepare', {
    preHandler: [cpuRouteGuard, authorize(rolesFor('cards.cpu'))],
    schema: {
      tags,
      summary: 'CPU 卡写卡前先记台账（PREPARED）/ Record a CPU-card write (PREPARED) before the station\'s maker library writes the card',
      description: 'No card data and no keys: the maker library at the station computes and writes them. The server checks and sets the count '
        + '(purchase = card count + 1 and must follow the ledger; refund at the same count; reissue at the ledger count). '
        + 'After the library call, confirm with the library\'s read-back: POST /v1/transactions/{id}/confirm {readBack}.',
      headers: S.idempotencyHeaders,
      body: body(['operation', 'maker', 'observed'], {
        operation: { type: 'string', enum: ['issue', 'reissue', 'purchase', 'refund', 'format', 'tool'] },
        maker: S.maker,
        cardNo: { ...S.cardNo, description: 'issue/reissue: the new card number; purchase/refund/format: optional, must match observed' },
        gas: { ...S.gas, description: 'issue: gas on the new card; reissue: 0 or the last sale not refunded; purchase: gas to sell (≥ 1)' },
        meterKind: S.meterKind,
        count: { ...S.count, description: 'reissue only, optional: must equal the ledger count (the server uses the ledger count)' },
        tool: toolName,
        params: toolParams,
        observed: {
          type: ['object', 'null'], additionalProperties: false, required: ['cardNo', 'gas', 'count', 'meterKind'],
          description: 'The card in the reader as the maker library read it (null: a blank card, for issue/reissue/tool)',
          properties: {
            cardNo: S.cardNo, gas: S.gas, count: { type: 'integer', minimum: 0, maximum: LIMITS.countMax }, meterKind: { type: 'integer', minimum: 0, maximum: 255 },
            written: { type: 'boolean', description: 'the meter has written back since the last sale (the gas counts as taken)' },
          },
        },
      }),
      response: S.writeResponses,
    },
  }, async (req, reply) => sendWrite(req, reply, await svc.cpuPrepare(actorOf(req), req.body, idemOf(req))));

  app.get<{ Params: { maker: string; cardNo: string } }>('/v1/cards/:maker/:cardNo', {
    preHandler: authorize(rolesFor('cards.ledger')),
    schema: {
      tags, summary: '一张卡的台账行（次数、未确认写卡）/ The card\'s ledger row: count, open gas, unconfirmed write',
      params: { type: 'object', required: ['maker', 'cardNo'], properties: { maker: S.maker, cardNo: S.cardNo } },
      response: { 200: { type: 'object', additionalProperties: true }, '4xx': S.errorSchema },
    },
  }, async (req, reply) => {
    reply.header('cache-control', 'no-store');
    return svc.ledgerCard(req.params.maker, req.params.cardNo);
  });
}
