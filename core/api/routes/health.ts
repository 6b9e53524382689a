/**
 * GET /v1/health (liveness): database, each plugin (state, stand-in?), whether stand-ins are in use. No secrets.
 * GET /v1/ready (readiness): 200 when the database answers and every required driver is up, else 503; the
 * body says which check failed (core/ops/readiness.ts). Both are public: no token, no secrets, not audited.
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
  app.get('/v1/health', {
    schema: { tags: ['health'], summary: '健康检查 / Health', security: [], response: { 200: { type: 'object', additionalProperties: true }, 503: { type: 'object', additionalProperties: true } } },
  }, async (_req, reply) => {
    const dbOk = await pingDatabase(opts.database);
    const plugins = opts.pluginHost.list().map((p) => ({
      id: p.id, enabled: p.enabled, standIn: p.standIn, ...(p.standIn ? { library: STAND_IN_LABEL } : {}),
      cardTypes: p.cardTypes, libraryFound: p.libraryFound, driver: p.driver ? { state: p.driver.state, restarts: p.driver.restarts, calls: p.driver.calls } : { state: 'not-started' },
    }));
    const enabled = plugins.filter((p) => p.enabled);
    const degraded = enabled.some((p) => !p.libraryFound || p.driver.state === 'failed');
    const faults = faultsEnabled();
    reply.header('cache-control', 'no-store');
    reply.code(dbOk ? 200 : 503);
    return {
      status: !dbOk ? 'down' : degraded ? 'degraded' : 'ok',
      version: opts.version,
      database: { ok: dbOk, dialect: opts.database.dialect, location: opts.database.location },
      ledgerKey: { source: opts.vault.info.source, keyId: opts.vault.keyId },
      standInsInUse: enabled.some((p) => p.standIn),
      plugins,
      ...(faults.length ? { faultInjection: faults } : {}),
    };
  });

  const readiness = new ReadinessChecker({ database: opts.database, pluginHost: opts.pluginHost, requiredPlugins: opts.requiredPlugins });
  app.get('/v1/ready', {
    schema: {
      tags: ['health'], summary: '就绪检查（负载均衡用）/ Readiness for load balancers', security: [],
      description: '200 when the database answers and every required driver is up; 503 otherwise, naming the failed check.',
      response: { 200: { type: 'object', additionalProperties: true }, 503: { type: 'object', additionalProperties: true } },
    },
  }, async (_req, reply) => {
    const r = await readiness.check();
    reply.header('cache-control', 'no-store');
    reply.code(r.ready ? 200 : 503);
    return { status: r.ready ? 'ready' : 'not-ready', version: opts.version, checks: r.checks };
  });
}
