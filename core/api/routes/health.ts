/** GET /v1/health: database, each plugin (state, stand-in?), whether stand-ins are in use. No secrets. */
import type { FastifyInstance } from 'fastify';
import { pingDatabase, type MeterHubDatabase } from '../../db/database.ts';
import type { KeyVault } from '../../ledger/key-vault.ts';
import { faultsEnabled } from '../../ledger/faults.ts';
import { STAND_IN_LABEL } from '../../plugins/plugin-host.ts';
import type { PluginHost } from '../../plugins/plugin-types.ts';

export async function healthRoutes(app: FastifyInstance, opts: { pluginHost: PluginHost; database: MeterHubDatabase; vault: KeyVault; version: string }): Promise<void> {
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
}
