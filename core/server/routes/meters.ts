/**
 * /v1/meters: the meter registry (core/meters) for ops and billing — the list with filters (state, transport,
 * customer no.) and keyset paging, and one meter by its address. Rows come in through POST /v1/imports/meters.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { rolesFor } from '../../auth/roles.ts';
import type { MeterHubDatabase } from '../../db/database.ts';
import { NotFound } from '../../errors/common-errors.ts';
import { MeterStore } from '../../meters/store.ts';
import { authorize } from '../auth-hooks.ts';
import { errorSchema } from '../../wire/fields.ts';
import { MeterAddressParams, MeterListQuery, MeterListResponse, MeterView } from '../../wire/meters.ts';

export async function meterRoutes(fastify: FastifyInstance, opts: { database: MeterHubDatabase }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const store = new MeterStore(opts.database);
  const tags = ['meters'];
  const preHandler = [authorize(rolesFor('meters.read'))];
  app.get(
    '/v1/meters',
    {
      preHandler,
      schema: {
        tags,
        summary: '表档案列表 / The meter registry, filtered and paged',
        querystring: MeterListQuery,
        response: { 200: MeterListResponse, '4xx': errorSchema, '5xx': errorSchema },
      },
    },
    async (req) => store.list(req.query),
  );
  app.get(
    '/v1/meters/:address',
    {
      preHandler,
      schema: {
        tags,
        summary: '一块表的档案 / One registered meter',
        params: MeterAddressParams,
        response: { 200: MeterView, '4xx': errorSchema, '5xx': errorSchema },
      },
    },
    async (req) => {
      const m = await store.get(req.params.address);
      if (!m) throw NotFound({ address: req.params.address });
      return m;
    },
  );
}
