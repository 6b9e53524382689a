/**
 * /v1/cards/*: identify, read, and every operation that produces card data (recorded before it leaves);
 * /v1/cards/cpu/prepare: a CPU-card write recorded before the station's maker library touches the card;
 * /v1/cards/{maker}/{cardNo}: the card's ledger row.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { rolesFor } from '../../auth/roles.ts';
import type { CardService } from '../../ledger/card-service.ts';
import {
  CardRefBody,
  CpuPrepareBody,
  IssueBody,
  PurchaseBody,
  RefundBody,
  ReissueBody,
  ToolBody,
} from '../../wire/card-requests.ts';
import { cardNo, errorSchema, idempotencyHeaders, maker } from '../../wire/fields.ts';
import { AnyObject, Nullable, StringEnum } from '../../wire/schema-kit.ts';
import { writeResponses } from '../../wire/transaction.ts';
import { authorize, cpuGuard, cpuRouteGuard } from '../auth-hooks.ts';
import { actorOf, idemOf, sendWrite } from '../request-context.ts';

const identifyAnswer = Type.Object({
  maker: Type.Optional(Type.String()),
  makerName: Type.Optional(Nullable(AnyObject())),
  kind: Type.Optional(StringEnum(['user', 'tool'])),
  oldKey: Type.Optional(Type.String({ description: '102 only: the password to read zones 1 and 2' })),
  standIn: Type.Optional(Type.Boolean()),
  library: Type.Optional(Type.String()),
});

export async function cardRoutes(fastify: FastifyInstance, opts: { cards: CardService }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const svc = opts.cards;
  const guard = (p: Parameters<typeof rolesFor>[0]) => [authorize(rolesFor(p)), cpuGuard];
  const tags = ['cards'];

  app.post(
    '/v1/cards/identify',
    {
      preHandler: guard('cards.identify'),
      schema: {
        tags,
        summary: '判卡 / Identify a card',
        body: CardRefBody,
        response: { 200: identifyAnswer, '4xx': errorSchema, '5xx': errorSchema },
      },
    },
    async (req, reply) => {
      reply.header('cache-control', 'no-store');
      return svc.identify(req.body);
    },
  );

  app.post(
    '/v1/cards/read',
    {
      preHandler: guard('cards.read'),
      schema: {
        tags,
        summary: '读卡（含表回写）/ Read a card with the meter write-back',
        body: CardRefBody,
        response: { 200: AnyObject(), '4xx': errorSchema, '5xx': errorSchema },
      },
    },
    async (req) => svc.read(req.body),
  );

  app.post(
    '/v1/cards/issue',
    {
      preHandler: guard('cards.issue'),
      schema: {
        tags,
        summary: '发新卡（次数为1）/ Issue a new card (count 1)',
        headers: idempotencyHeaders,
        body: IssueBody,
        response: writeResponses,
      },
    },
    async (req, reply) => sendWrite(req, reply, await svc.issue(actorOf(req), req.body, idemOf(req))),
  );

  app.post(
    '/v1/cards/reissue',
    {
      preHandler: guard('cards.reissue'),
      schema: {
        tags,
        summary: '补卡（次数=台账实际次数）/ Reissue a lost card with the ledger count',
        headers: idempotencyHeaders,
        body: ReissueBody,
        response: writeResponses,
      },
    },
    async (req, reply) => sendWrite(req, reply, await svc.reissue(actorOf(req), req.body, idemOf(req))),
  );

  app.post(
    '/v1/cards/purchase',
    {
      preHandler: guard('cards.purchase'),
      schema: {
        tags,
        summary: '购气（服务器决定次数=卡上次数+1）/ Purchase gas (the server sets count = card count + 1)',
        headers: idempotencyHeaders,
        body: PurchaseBody,
        response: writeResponses,
      },
    },
    async (req, reply) => sendWrite(req, reply, await svc.purchase(actorOf(req), req.body, idemOf(req))),
  );

  app.post(
    '/v1/cards/refund',
    {
      preHandler: guard('cards.refund'),
      schema: {
        tags,
        summary: '退气（气量0，次数不变）/ Refund (gas 0, same count)',
        headers: idempotencyHeaders,
        body: RefundBody,
        response: writeResponses,
      },
    },
    async (req, reply) => sendWrite(req, reply, await svc.refund(actorOf(req), req.body, idemOf(req))),
  );

  app.post(
    '/v1/cards/format',
    {
      preHandler: guard('cards.format'),
      schema: {
        tags,
        summary: '擦卡 / Format (erase) a card — returns the key to present; data is null',
        headers: idempotencyHeaders,
        body: CardRefBody,
        response: writeResponses,
      },
    },
    async (req, reply) => sendWrite(req, reply, await svc.format(actorOf(req), req.body, idemOf(req))),
  );

  app.post(
    '/v1/cards/tool',
    {
      preHandler: guard('cards.tool'),
      schema: {
        tags,
        summary: '制作工具卡 / Make a tool card',
        headers: idempotencyHeaders,
        body: ToolBody,
        response: writeResponses,
      },
    },
    async (req, reply) => sendWrite(req, reply, await svc.tool(actorOf(req), req.body, idemOf(req))),
  );

  app.post(
    '/v1/cards/cpu/prepare',
    {
      preHandler: [cpuRouteGuard, authorize(rolesFor('cards.cpu'))],
      schema: {
        tags,
        summary:
          "CPU 卡写卡前先记台账（PREPARED）/ Record a CPU-card write (PREPARED) before the station's maker library writes the card",
        description:
          'No card data and no keys: the maker library at the station computes and writes them. The server checks and sets the count ' +
          '(purchase = card count + 1 and must follow the ledger; refund at the same count; reissue at the ledger count). ' +
          "After the library call, confirm with the library's read-back: POST /v1/transactions/{id}/confirm {readBack}.",
        headers: idempotencyHeaders,
        body: CpuPrepareBody,
        response: writeResponses,
      },
    },
    async (req, reply) => sendWrite(req, reply, await svc.cpuPrepare(actorOf(req), req.body, idemOf(req))),
  );

  app.get(
    '/v1/cards/:maker/:cardNo',
    {
      preHandler: authorize(rolesFor('cards.ledger')),
      schema: {
        tags,
        summary: "一张卡的台账行（次数、未确认写卡）/ The card's ledger row: count, open gas, unconfirmed write",
        params: Type.Object({ maker, cardNo }),
        response: { 200: AnyObject(), '4xx': errorSchema },
      },
    },
    async (req, reply) => {
      reply.header('cache-control', 'no-store');
      return svc.ledgerCard(req.params.maker, req.params.cardNo);
    },
  );
}
