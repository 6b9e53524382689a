/**
 * /v1/imports/*: go-live imports for ops (core/golive/ cards, core/meters/ the meter registry). The file travels as
 * text in the JSON body (CSV or JSON, as the old system exported it), with the mapping as an object; the answer is
 * the same report the CLI prints. The batch id goes into the audit row of the call (its transaction id), the
 * source's SHA-256 into the batch row and every imported card or meter. GET /v1/imports/{id} reads either kind.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { rolesFor } from '../../auth/roles.ts';
import type { MeterHubDatabase } from '../../db/database.ts';
import { importCards } from '../../golive/card-import.ts';
import type { ImportKind, ImportReportOf, ImportRunOptions } from '../../golive/import-batch.ts';
import { importMeters } from '../../meters/meter-import.ts';
import type { ProfileRegistry } from '../../telemetry/profile-registry.ts';
import type { PluginHost } from '../../plugins/plugin-types.ts';
import { NotFound } from '../../errors/common-errors.ts';
import { authorize } from '../auth-hooks.ts';
import { actorOf } from '../request-context.ts';
import { errorSchema } from '../../wire/fields.ts';
import { ImportBatchParams, ImportFileBody } from '../../wire/import-requests.ts';
import { AnyObject } from '../../wire/schema-kit.ts';

/** A city's card base as CSV is tens of MB; the global limit (64 KiB) is for card operations. */
const IMPORT_BODY_LIMIT = 256 * 1024 * 1024;

export async function importRoutes(
  fastify: FastifyInstance,
  opts: { pluginHost: PluginHost; database: MeterHubDatabase; profiles: Pick<ProfileRegistry, 'has' | 'list'> },
): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['imports'];
  const importRoute = (
    kind: ImportKind,
    summary: string,
    run: (o: ImportRunOptions) => Promise<ImportReportOf<ImportKind, object>>,
  ) =>
    app.post(
      `/v1/imports/${kind}`,
      {
        preHandler: [authorize(rolesFor('imports.write'))],
        bodyLimit: IMPORT_BODY_LIMIT,
        schema: {
          tags,
          summary,
          body: ImportFileBody,
          response: { 200: AnyObject(), '4xx': errorSchema, '5xx': errorSchema },
        },
      },
      async (req, reply) => {
        const b = req.body;
        const report = await run({
          actor: actorOf(req),
          text: b.content,
          fileName: b.fileName,
          mappingText: b.mapping ? JSON.stringify(b.mapping) : undefined,
          dryRun: b.dryRun,
          update: b.update,
        });
        if (report.batchId) req.auditTx = report.batchId;
        reply.header('cache-control', 'no-store');
        return report;
      },
    );
  const { database, pluginHost: host, profiles } = opts;
  importRoute('cards', '上线导入卡片台账（运维）/ Import the card base from the old system (ops)', (o) =>
    importCards({ ...o, database, host }),
  );
  importRoute('meters', '上线导入表档案（运维）/ Import the meter registry from the old system (ops)', (o) =>
    importMeters({ ...o, database, host, profiles }),
  );

  app.get(
    '/v1/imports/:id',
    {
      preHandler: [authorize(rolesFor('imports.write'))],
      schema: {
        tags,
        summary: '导入批次 / An import batch with its report',
        params: ImportBatchParams,
        response: { 200: AnyObject(), '4xx': errorSchema, '5xx': errorSchema },
      },
    },
    async (req) => {
      const row = await opts.database.db
        .selectFrom('import_batches')
        .selectAll()
        .where('id', '=', req.params.id)
        .executeTakeFirst();
      if (!row) throw NotFound({ batchId: req.params.id });
      const { report, ...rest } = row as Record<string, unknown> & { report: string };
      return { ...rest, report: JSON.parse(report) };
    },
  );
}
