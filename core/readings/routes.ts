/**
 * Readings REST: the billing cursor feed, plus ops views of the sinks and the dead-letter list.
 *   GET  /v1/readings?after=<cursor>&limit=<n>&consumer=<name>  billing pulls in commit order (authorize);
 *        cursors are digit strings (int64); the cursor is kept per consumer (token id [+ name])
 *   GET  /v1/readings/sinks                            lag and backlog per sink (authorizeOps)
 *   GET  /v1/readings/dead-letters?sink=&after=&limit= (authorizeOps)
 *   POST /v1/readings/dead-letters/replay {sink, ids?} (authorizeOps)
 *   GET  /v1/readings/quarantine?address=&state=&after=&limit=  readings of unknown meters (authorize: billing, ops)
 *   GET  /v1/readings/quarantine/addresses?state=               the same grouped by address with counts (authorize)
 *   POST /v1/readings/quarantine/{id}/assign {address}          store it as a reading of that meter (authorizeOps)
 *   POST /v1/readings/quarantine/{id}/dismiss {reason}          (authorizeOps)
 *   POST /v1/readings/quarantine/assign-address {from, to}      every held reading of one address (authorizeOps)
 * An encapsulated fastify plugin; the app passes role checks as preHandlers.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, preHandlerHookHandler } from 'fastify';
import { ReadingCursorInvalid } from './errors.ts';
import type { ReadingPipeline } from './pipeline.ts';
import { readingPayload } from './sink-types.ts';
import { isFeedCursor, type FeedConsumerIdentity } from './store.ts';
import type { FastifyRequest } from 'fastify';
import { errorSchema } from '../wire/fields.ts';
import {
  QuarantineAssignAddressBody,
  QuarantineAssignAddressResult,
  QuarantineAssignBody,
  QuarantineAssignResult,
  QuarantineDismissBody,
  QuarantineGroups,
  QuarantineGroupsQuery,
  QuarantineIdParams,
  QuarantineList,
  QuarantineListQuery,
  QuarantinedReading,
} from '../wire/quarantine.ts';

export interface ReadingRoutesOptions {
  pipeline: ReadingPipeline;
  /** Role check for the billing feed (billing role). */
  authorize?: preHandlerHookHandler;
  /** Role check for sink stats and dead letters (ops role). Without it those routes are not registered. */
  authorizeOps?: preHandlerHookHandler;
  /** Largest page a consumer may ask for with `limit` (default 1000, at most 10000). */
  maxPageSize?: number;
}

const CONSUMER_NAME = '^[A-Za-z0-9_.:-]{1,64}$';

/** The consumer is the token (its immutable id, never its name, which can be reused) plus an optional name. */
function consumerOf(req: FastifyRequest, name: string | undefined): FeedConsumerIdentity {
  const tokenId = req.actor?.tokenId ?? null;
  const base = tokenId ?? 'anonymous';
  return { consumer: name ? `${base}/${name}` : base, tokenId, tokenName: req.actor?.name ?? null };
}

const readingSchema = {
  type: 'object',
  properties: {
    cursor: { type: 'string' },
    id: { type: 'string', description: 'Idempotency key / 幂等键' },
    meterId: { type: 'string' },
    maker: { type: 'string' },
    meterType: { type: 'integer' },
    meterTime: { type: ['string', 'null'] },
    receivedAt: { type: 'string' },
    cumulative: { type: ['string', 'null'], description: 'm³, decimal string / 十进制字符串' },
    settlement: { type: ['string', 'null'] },
    history: { type: 'object', additionalProperties: { type: 'string' } },
    status: { type: 'object', additionalProperties: true },
    source: { type: 'string' },
    rawFrame: { type: 'string' },
  },
} as const;

export async function readingRoutes(app: FastifyInstance, opts: ReadingRoutesOptions): Promise<void> {
  const { pipeline } = opts;
  const billing = opts.authorize ? { preHandler: opts.authorize } : {};

  const maxPage = Math.min(Math.max(opts.maxPageSize ?? 1000, 1), 10_000);
  app.get<{ Querystring: { after?: string; limit?: string; consumer?: string } }>(
    '/v1/readings',
    {
      ...billing,
      schema: {
        tags: ['readings'],
        summary: '按游标拉取抄表数据（计费）/ Pull readings after a cursor (billing)',
        querystring: {
          type: 'object',
          properties: {
            after: {
              type: 'string',
              maxLength: 20,
              description: 'Cursor (digit string, int64) from the previous page; omit or 0 to start',
            },
            // A string, parsed below: the API validates without type coercion, and query strings are text.
            limit: {
              type: 'string',
              pattern: '^[1-9][0-9]{0,4}$',
              description: `1..${maxPage} (the server's bound), default 100`,
            },
            consumer: {
              type: 'string',
              pattern: CONSUMER_NAME,
              description: 'Optional consumer name behind this token; each has its own cursor',
            },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { items: { type: 'array', items: readingSchema }, nextCursor: { type: 'string' } },
          },
        },
      },
    },
    async (req) => {
      const raw = req.query.after ?? '0';
      // Kept as a string: a JS number would silently round positions above 2^53 and repeat or skip readings.
      if (!isFeedCursor(raw)) throw ReadingCursorInvalid({ after: raw.slice(0, 20) });
      const after = raw.replace(/^0+(?=\d)/, '');
      const limit = Math.min(Number(req.query.limit ?? 100), maxPage);
      const page = await pipeline.store.feedPage(after, limit);
      // Asking for after=N acknowledges everything up to N for this consumer only: its lag for ops.
      await pipeline.store.recordConsumerCursor(consumerOf(req, req.query.consumer), after);
      return {
        items: page.items.map((i) => ({ cursor: i.cursor, ...readingPayload(i.reading) })),
        nextCursor: page.nextCursor,
      };
    },
  );

  if (!opts.authorizeOps) return;
  const ops = { preHandler: opts.authorizeOps };

  app.get(
    '/v1/readings/sinks',
    {
      ...ops,
      schema: { tags: ['readings'], summary: '计费通道积压与延迟 / Billing sink backlog and lag' },
    },
    async () => ({ sinks: await pipeline.stats() }),
  );

  app.get<{ Querystring: { sink?: string; after?: string; limit?: string } }>(
    '/v1/readings/dead-letters',
    {
      ...ops,
      schema: {
        tags: ['readings'],
        summary: '死信列表 / List dead letters',
        querystring: {
          type: 'object',
          properties: {
            sink: { type: 'string', maxLength: 64 },
            after: { type: 'string', pattern: '^[0-9]{1,15}$' },
            // A string, parsed below: the API validates without type coercion, and query strings are text.
            limit: { type: 'string', pattern: '^[1-9][0-9]{0,3}$', description: '1..1000, default 100' },
          },
        },
      },
    },
    async (req) => ({
      deadLetters: await pipeline.listDeadLetters({
        sink: req.query.sink,
        afterId: req.query.after === undefined ? undefined : Number(req.query.after),
        limit: req.query.limit === undefined ? undefined : Math.min(Number(req.query.limit), 1000),
      }),
    }),
  );

  app.post<{ Body: { sink: string; ids?: number[] } }>(
    '/v1/readings/dead-letters/replay',
    {
      ...ops,
      schema: {
        tags: ['readings'],
        summary: '重投死信 / Replay dead letters',
        body: {
          type: 'object',
          required: ['sink'],
          properties: {
            sink: { type: 'string', maxLength: 64 },
            ids: { type: 'array', items: { type: 'integer', minimum: 1 }, maxItems: 10000 },
          },
        },
      },
    },
    async (req) => ({ replayed: await pipeline.replayDeadLetters(req.body.sink, req.body.ids) }),
  );

  await quarantineRoutes(app, pipeline, billing, ops);
}

/** Who acted, as the quarantine row records it (the audit row of the call has the token itself). */
function actedBy(req: FastifyRequest): string {
  return req.actor ? `${req.actor.name} (${req.actor.role})` : 'unknown';
}

async function quarantineRoutes(
  fastify: FastifyInstance,
  pipeline: ReadingPipeline,
  read: { preHandler?: preHandlerHookHandler },
  ops: { preHandler: preHandlerHookHandler },
): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['readings'];
  const errors = { '4xx': errorSchema, '5xx': errorSchema };

  app.get(
    '/v1/readings/quarantine',
    {
      ...read,
      schema: {
        tags,
        summary: '待认领读数（未登记表具）/ Quarantined readings of unknown meters',
        querystring: QuarantineListQuery,
        response: { 200: QuarantineList, ...errors },
      },
    },
    async (req) =>
      pipeline.quarantine.list({
        ...(req.query.address ? { address: req.query.address } : {}),
        ...(req.query.state ? { state: req.query.state } : {}),
        ...(req.query.after !== undefined ? { afterSeq: Number(req.query.after) } : {}),
        ...(req.query.limit !== undefined ? { limit: Number(req.query.limit) } : {}),
      }),
  );

  app.get(
    '/v1/readings/quarantine/addresses',
    {
      ...read,
      schema: {
        tags,
        summary: '待认领读数按表号汇总 / Quarantined readings grouped by address',
        querystring: QuarantineGroupsQuery,
        response: { 200: QuarantineGroups, ...errors },
      },
    },
    async (req) => ({ groups: await pipeline.quarantine.groups(req.query.state ?? 'held') }),
  );

  app.post(
    '/v1/readings/quarantine/:id/assign',
    {
      ...ops,
      schema: {
        tags,
        summary: '认领到已登记的表（运维）/ Assign to a registered meter (ops)',
        params: QuarantineIdParams,
        body: QuarantineAssignBody,
        response: { 200: QuarantineAssignResult, ...errors },
      },
    },
    async (req) => {
      req.auditTx = req.params.id;
      return pipeline.assignQuarantined(req.params.id, req.body.address, actedBy(req));
    },
  );

  app.post(
    '/v1/readings/quarantine/:id/dismiss',
    {
      ...ops,
      schema: {
        tags,
        summary: '忽略待认领读数（运维，需说明原因）/ Dismiss with a reason (ops)',
        params: QuarantineIdParams,
        body: QuarantineDismissBody,
        response: { 200: QuarantinedReading, ...errors },
      },
    },
    async (req) => {
      req.auditTx = req.params.id;
      return pipeline.quarantine.dismiss(req.params.id, req.body.reason, actedBy(req));
    },
  );

  app.post(
    '/v1/readings/quarantine/assign-address',
    {
      ...ops,
      schema: {
        tags,
        summary: '按表号批量认领（运维）/ Assign every held reading of one address (ops)',
        body: QuarantineAssignAddressBody,
        response: { 200: QuarantineAssignAddressResult, ...errors },
      },
    },
    async (req) => pipeline.assignQuarantinedAddress(req.body.from, req.body.to, actedBy(req)),
  );
}
