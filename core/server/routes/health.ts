/**
 * GET /v1/health (liveness). Anonymous callers learn only `ok`, `degraded` or `down` (and the version): the
 * database path, the ledger key id and per-plugin call counts are internals an attacker should not read. An
 * ops token gets the details: database, ledger key, each plugin (state, stand-in?, driver), invalid plugins.
 * GET /v1/ready (readiness): 200 when the database answers and every required driver is up, else 503; the
 * body says which check failed (core/ops/readiness.ts); an invalid plugin makes it `degraded` (still 200: the
 * other makers serve) and is named. Both are never rate-limited (a load balancer must always get an answer)
 * and never audited.
 */
import type { FastifyInstance } from 'fastify';
import { pingDatabase, type MeterHubDatabase } from '../../db/database.ts';
import type { KeyVault } from '../../ledger/key-vault.ts';
import { faultsEnabled } from '../../ledger/faults.ts';
import { STAND_IN_LABEL } from '../../plugins/plugin-host.ts';
import type { PluginHost } from '../../plugins/plugin-types.ts';
import { ReadinessChecker } from '../../ops/readiness.ts';

export interface HealthRouteOptions {
  pluginHost: PluginHost;
  database: MeterHubDatabase;
  vault: KeyVault;
  version: string;
  /** Plugins /v1/ready requires (undefined: every enabled plugin whose library exists). */
  requiredPlugins?: string[] | undefined;
}

export async function healthRoutes(app: FastifyInstance, opts: HealthRouteOptions): Promise<void> {
  const invalidPlugins = () =>
    opts.pluginHost
      .invalid()
      .map((p) => ({ id: p.id, state: p.state, error: { code: p.error.code, message: p.error.message } }));

  app.get(
    '/v1/health',
    {
      config: { rateLimit: false },
      schema: {
        tags: ['health'],
        summary: '健康检查（详情需运维令牌）/ Health (details need an ops token)',
        security: [],
        response: {
          200: { type: 'object', additionalProperties: true },
          503: { type: 'object', additionalProperties: true },
        },
      },
    },
    async (req, reply) => {
      const dbOk = await pingDatabase(opts.database);
      const plugins = opts.pluginHost.list().map((p) => ({
        id: p.id,
        enabled: p.enabled,
        standIn: p.standIn,
        ...(p.standIn ? { library: STAND_IN_LABEL } : {}),
        cardTypes: p.cardTypes,
        libraryFound: p.libraryFound,
        driver: p.driver
          ? { state: p.driver.state, restarts: p.driver.restarts, calls: p.driver.calls }
          : { state: 'not-started' },
      }));
      const enabled = plugins.filter((p) => p.enabled);
      const invalid = invalidPlugins();
      const degraded = invalid.length > 0 || enabled.some((p) => !p.libraryFound || p.driver.state === 'failed');
      const faults = faultsEnabled();
      reply.header('cache-control', 'no-store');
      reply.code(dbOk ? 200 : 503);
      const status = !dbOk ? 'down' : degraded ? 'degraded' : 'ok';
      if (req.actor?.role !== 'ops') return { status, version: opts.version };
      return {
        status,
        version: opts.version,
        database: { ok: dbOk, dialect: opts.database.dialect, location: opts.database.location },
        ledgerKey: { source: opts.vault.info.source, keyId: opts.vault.keyId },
        standInsInUse: enabled.some((p) => p.standIn),
        plugins,
        ...(invalid.length ? { invalidPlugins: invalid } : {}),
        ...(faults.length ? { faultInjection: faults } : {}),
      };
    },
  );

  const readiness = new ReadinessChecker({
    database: opts.database,
    pluginHost: opts.pluginHost,
    requiredPlugins: opts.requiredPlugins,
  });
  app.get(
    '/v1/ready',
    {
      config: { rateLimit: false },
      schema: {
        tags: ['health'],
        summary: '就绪检查（负载均衡用）/ Readiness for load balancers',
        security: [],
        description:
          '200 when the database answers and every required driver is up; 503 otherwise, naming the failed check.',
        response: {
          200: { type: 'object', additionalProperties: true },
          503: { type: 'object', additionalProperties: true },
        },
      },
    },
    async (_req, reply) => {
      const r = await readiness.check();
      const invalid = invalidPlugins().map((p) => ({ id: p.id, code: p.error.code }));
      reply.header('cache-control', 'no-store');
      reply.code(r.ready ? 200 : 503);
      const status = !r.ready ? 'not-ready' : invalid.length ? 'degraded' : 'ready';
      return { status, version: opts.version, checks: { ...r.checks, plugins: { ok: invalid.length === 0, invalid } } };
    },
  );
}
