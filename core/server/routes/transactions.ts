/**
 * /v1/transactions: the ledger seen from outside. Confirm (memory cards: read-back verified through the maker's
 * Read; CPU cards: the read-back the station's maker library reported; a read-back that differs fails the
 * write), and the way back: rewrite (掉气补气) and reverse (冲正). Confirm, rewrite and reverse: ops on any
 * transaction, a counter or bank on its own (same token id and channel; roles.ts mayActOn). The ops-only
 * cancel of a replacement card (补卡撤销). A bank sees only its own transactions.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { mayActOn, rolesFor } from '../../auth/roles.ts';
import { Forbidden } from '../../errors/common-errors.ts';
import type { CardService } from '../../ledger/card-service.ts';
import { TransactionNotFound } from '../../ledger/ledger-errors.ts';
import { authorize } from '../auth-hooks.ts';
import { actorOf, idemOf, sendWrite } from '../request-context.ts';
import { errorSchema, idempotencyHeaders } from '../../wire/fields.ts';
import {
  CancelReissueBody,
  CardHistoryQuery,
  ConfirmBody,
  ReverseBody,
  RewriteBody,
  TxIdParams,
} from '../../wire/transaction-requests.ts';
import { txSchema, writeResponses } from '../../wire/transaction.ts';

type IdParams = TxIdParams;
const params = TxIdParams;

export async function transactionRoutes(fastify: FastifyInstance, opts: { cards: CardService }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const svc = opts.cards;
  const tags = ['transactions'];
  const admin = authorize(rolesFor('transactions.admin'));
  const recover = authorize(rolesFor('transactions.recover'));

  /** Banks only see their own rows; everyone else gets a 404 for other people's ids. */
  async function visible(req: Pick<FastifyRequest, 'actor'> & { params: IdParams }) {
    const tx = await svc.transaction(req.params.id);
    if (req.actor?.role === 'bank' && tx.actor.tokenId !== req.actor.tokenId)
      throw TransactionNotFound({ transactionId: req.params.id });
    return tx;
  }

  /**
   * Confirm/fail, rewrite, reverse: ops any; a counter or bank only its own (same token id and channel). Another
   * counter could otherwise confirm a write it never made, or fail it with a wrong read-back and block the card.
   */
  async function own(req: Pick<FastifyRequest, 'actor'> & { params: IdParams }) {
    const tx = await visible(req);
    const a = req.actor!;
    if (!mayActOn(a, tx)) {
      throw Forbidden(
        {
          role: a.role,
          transactionId: tx.transactionId,
          reason: 'not-own-transaction',
          allowed: ['ops', 'the token that created it'],
        },
        {
          zh: '柜台/银行只能确认、掉气补气或冲正本令牌（同一渠道）创建的交易；其他交易请运维处理',
          en: 'a counter or bank may confirm, rewrite or reverse only transactions its own token (same channel) created; ask ops for others',
        },
      );
    }
    return tx;
  }

  app.get(
    '/v1/transactions/:id',
    {
      preHandler: authorize(rolesFor('transactions.read')),
      schema: {
        tags,
        summary: '查询交易 / Get a transaction',
        params,
        response: { 200: txSchema, '4xx': errorSchema },
      },
    },
    async (req) => {
      req.auditTx = req.params.id;
      return visible(req);
    },
  );

  app.get(
    '/v1/transactions',
    {
      preHandler: authorize(rolesFor('transactions.admin').concat(['counter'])),
      schema: {
        tags,
        summary: '一张卡的台账 / Ledger history of one card',
        querystring: CardHistoryQuery,
        response: {
          200: { type: 'object', properties: { transactions: { type: 'array', items: txSchema } } },
          '4xx': errorSchema,
        },
      },
    },
    async (req) => ({ transactions: await svc.store.history(req.query.maker, req.query.cardNo) }),
  );

  app.post(
    '/v1/transactions/:id/confirm',
    {
      preHandler: authorize(rolesFor('transactions.confirm')),
      schema: {
        tags,
        summary: '确认写卡（读回校验）/ Confirm a write with the card read-back (memory: data; CPU: readBack)',
        params,
        headers: idempotencyHeaders,
        body: ConfirmBody,
        response: { 200: txSchema, '4xx': errorSchema, '5xx': errorSchema },
      },
    },
    async (req, reply) => {
      req.auditTx = req.params.id;
      await own(req);
      return sendWrite(req, reply, await svc.confirm(req.params.id, req.body, idemOf(req)));
    },
  );

  app.post(
    '/v1/transactions/:id/rewrite',
    {
      preHandler: recover,
      schema: {
        tags,
        summary: '掉气补气：重写同一卡数据 / Rewrite the same card data (failed or unknown write)',
        params,
        headers: idempotencyHeaders,
        body: RewriteBody,
        response: writeResponses,
      },
    },
    async (req, reply) => {
      req.auditTx = req.params.id;
      await own(req);
      return sendWrite(req, reply, await svc.rewrite(actorOf(req), req.params.id, idemOf(req)));
    },
  );

  app.post(
    '/v1/transactions/:id/reverse',
    {
      preHandler: recover,
      schema: {
        tags,
        summary: '冲正：未写到卡上的交易 / Reverse a write that never reached the card',
        params,
        headers: idempotencyHeaders,
        body: ReverseBody,
        response: { 200: txSchema, '4xx': errorSchema, '5xx': errorSchema },
      },
    },
    async (req, reply) => {
      req.auditTx = req.params.id;
      await own(req);
      return sendWrite(req, reply, await svc.reverse(actorOf(req), req.params.id, req.body ?? undefined, idemOf(req)));
    },
  );

  app.post(
    '/v1/transactions/:id/cancel-reissue',
    {
      preHandler: admin,
      schema: {
        tags,
        summary: '补卡撤销：擦除补卡并作废 / Cancel a replacement card (erase it)',
        params,
        headers: idempotencyHeaders,
        body: CancelReissueBody,
        response: writeResponses,
      },
    },
    async (req, reply) => {
      req.auditTx = req.params.id;
      return sendWrite(req, reply, await svc.cancelReissue(actorOf(req), req.params.id, req.body, idemOf(req)));
    },
  );
}
