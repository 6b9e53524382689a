/**
 * The central server's composition root: `startServer` builds the whole object graph (database, ledger key,
 * plugin host, readings, metrics, API) in this one place from a validated configuration (core/config/), so
 * nothing below it reads the environment. Embedded defaults: SQLite in <dataDir> (PostgreSQL when
 * DATABASE_URL is set), plugins from ./plugins and METERHUB_PLUGIN_PATH, migrations at start, the ledger key
 * from METERHUB_LEDGER_KEY or <dataDir>/ledger.key. Used by `meterhub serve`, the crash tests and the benchmark.
 *
 * Tests replace a part of the graph with `parts` (a key vault, a plugin host, a database) instead of patching
 * modules; options given explicitly win over the configuration.
 */
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { TokenStore } from '../auth/token-store.ts';
import { openDatabase, resolveDatabaseUrl, type MeterHubDatabase } from '../db/database.ts';
import { migrateAll } from '../schema/all-migrations.ts';
import type { AdoptionPolicy } from '../ledger/card-service.ts';
import { ensurePrivateDir } from '../db/private-files.ts';
import { KeyVault } from '../ledger/key-vault.ts';
import { DEFAULT_DATA_DIR } from '../config/defaults.ts';
import { loadServerConfig, type ServerConfig } from '../config/load-config.ts';
import { parseTrustProxy } from '../config/parse-settings.ts';
import { createPluginHost } from '../plugins/plugin-host.ts';
import { ProfileRegistry } from '../telemetry/profile-registry.ts';
import type { MeterDirectory } from '../readings/meter-directory.ts';
import { createReadingPipeline, type ReadingPipeline } from '../readings/pipeline.ts';
import { readingRoutes } from '../readings/routes.ts';
import { rolesFor } from '../auth/roles.ts';
import type { Gateway, GatewayConfig } from '../../gateways/gateway.ts';
import type { PluginHost } from '../plugins/plugin-types.ts';
import { API_VERSION, buildApp, type ApiConfig } from './app.ts';
import type { MetricsAccessConfig } from '../metrics/access.ts';
import { createMetrics, type MeterHubMetrics, type MetricsOptions } from '../metrics/metrics.ts';
import { parseRequiredPlugins } from '../ops/readiness.ts';
import { createApiLogger } from './logger.ts';
import { consoleRouteModule } from './console/routes.ts';

/** Parts of the graph a caller supplies instead of the ones startServer builds; the server owns and closes them. */
export interface ServerParts {
  vault: KeyVault;
  database: MeterHubDatabase;
  pluginHost: PluginHost;
}

export interface ServerOptions {
  /** The validated configuration (`meterhub serve` passes the one it loaded); default: loaded from the environment. */
  config?: ServerConfig;
  parts?: Partial<ServerParts>;
  port?: number;
  host?: string;
  dataDir?: string;
  /** Overrides DATABASE_URL. */
  databaseUrl?: string;
  pluginPaths?: string[];
  logger?: Logger;
  logLevel?: string;
  rateLimit?: ApiConfig['rateLimit'];
  /** Create and print an ops token when the database has none (default true). */
  bootstrapToken?: boolean;
  /** Where the one-time bootstrap token is printed (default stderr). */
  print?: (text: string) => void;
  /**
   * Run a remote-read gateway (serial buses, collectors, MQTT) in this process on the server's database.
   * Without it the server still serves the readings that separate `meterhub gateway` processes store.
   */
  gateway?: GatewayConfig;
  /**
   * Which meter addresses are known (the meter registry). With it, readings of unknown meters are held in
   * quarantine instead of stored; without it every address is accepted, and an assign accepts any address.
   */
  meterDirectory?: MeterDirectory;
  /**
   * The program's dialect registry: the plugin host pushes enabled plugins' profiles into it and the gateway
   * resolves its config's profile name in it. Default: a new one per server (built-in dialects + plugins).
   */
  profiles?: ProfileRegistry;
  /** Prometheus metrics at GET /metrics (default on); false turns them off. */
  metrics?: boolean | MetricsOptions;
  /** Who may scrape besides ops tokens; default from METERHUB_METRICS_TOKEN / METERHUB_METRICS_ALLOW. */
  metricsAccess?: MetricsAccessConfig;
  /** Plugins /v1/ready requires; default from METERHUB_REQUIRED_PLUGINS, else every enabled plugin with a library. */
  requiredPlugins?: string[];
  /**
   * Start every enabled plugin's driver host now (default true) rather than at its first card call, so the
   * first sale after a start does not wait for a host to start and load its library (a fraction of a
   * second to seconds). A driver that fails to start shows in /v1/health and /v1/ready, and is retried.
   */
  startDrivers?: boolean;
  /** SQLite: commit on the ledger thread (default true; see ApiConfig.ledgerThread). */
  ledgerThread?: boolean;
  /** PostgreSQL: sales and audit batches as one guarded statement (default true; see ApiConfig.pgOneStatement). */
  pgOneStatement?: boolean;
  /** Who may adopt a card unknown to the ledger (default METERHUB_ADOPTION, else 'ops'). */
  adoption?: AdoptionPolicy;
  /** Proxies trusted for X-Forwarded-For (ApiConfig.trustProxy); default METERHUB_TRUST_PROXY, else none. */
  trustProxy?: ApiConfig['trustProxy'];
  /** Slow-client timeouts and the connection cap; unset fields from METERHUB_* env, then the defaults. */
  http?: ApiConfig['http'];
}

export { parseTrustProxy };

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  database: MeterHubDatabase;
  pluginHost: PluginHost;
  readings: ReadingPipeline;
  gateway?: Gateway;
  metrics?: MeterHubMetrics;
  close(): Promise<void>;
}

/** Opens and migrates the database for a data dir (also used by the token and audit commands). */
export async function openServerDatabase(
  o: { dataDir?: string; databaseUrl?: string | undefined } = {},
): Promise<MeterHubDatabase> {
  const dataDir = resolve(o.dataDir ?? DEFAULT_DATA_DIR);
  // 0700 whatever the umask: the ledger, its key and the audit trail are the service account's alone.
  ensurePrivateDir(dataDir);
  const database = openDatabase({ url: o.databaseUrl ?? resolveDatabaseUrl() ?? join(dataDir, 'meterhub.db') });
  await migrateAll(database);
  return database;
}

/** The slow-client limits the configuration sets (the rest keep core/server/http-limits.ts defaults). */
function httpLimitsOf(c: ServerConfig): NonNullable<ApiConfig['http']> {
  const { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs, maxConnections } = c;
  return Object.fromEntries(
    Object.entries({ headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs, maxConnections }).filter(
      ([, v]) => v !== undefined,
    ),
  );
}

export async function startServer(o: ServerOptions = {}): Promise<RunningServer> {
  const config = o.config ?? loadServerConfig();
  const dataDir = resolve(o.dataDir ?? config.dataDir);
  const logger = o.logger ?? createApiLogger({ level: o.logLevel ?? config.logLevel });
  const database =
    o.parts?.database ?? (await openServerDatabase({ dataDir, databaseUrl: o.databaseUrl ?? config.databaseUrl }));
  const vault =
    o.parts?.vault ??
    KeyVault.load({ dataDir, env: config.ledgerKey ? { METERHUB_LEDGER_KEY: config.ledgerKey } : {} });
  if (vault.info.warning) logger.warn(vault.info.warning);
  logger.info({ keyId: vault.keyId, source: vault.info.source }, 'ledger key loaded');
  const metrics =
    o.metrics === false
      ? undefined
      : createMetrics({ version: API_VERSION, ...(typeof o.metrics === 'object' ? o.metrics : {}) });
  const profiles = o.profiles ?? new ProfileRegistry();
  const pluginHost =
    o.parts?.pluginHost ??
    (await createPluginHost({
      profiles,
      pluginPaths: [...(o.pluginPaths ?? config.pluginPaths), ...config.pluginPathEnv],
      ignoreEnv: true,
      dataDir,
      logger,
      ...(metrics ? { driverFactory: metrics.driverFactory() } : {}),
    }));

  // The gateway's profile name can only be checked once the host has pushed the plugins' dialects; an unknown
  // name refuses to start before any driver host is spawned.
  // The gateway module (serial ports, MQTT client) is loaded only when this process runs one: a plain `serve`
  // would otherwise carry serialport and mqtt at rest (issue 17 measured idle memory).
  const gatewayModule = o.gateway ? await import('../../gateways/gateway.ts') : undefined;
  if (o.gateway) {
    try {
      gatewayModule!.validateGatewayConfig(o.gateway, profiles);
    } catch (e) {
      if (!o.parts?.pluginHost) await pluginHost.close();
      if (!o.parts?.database) await database.close();
      throw e;
    }
  }

  if (o.startDrivers !== false) {
    for (const p of pluginHost.list()) {
      if (!p.enabled || !p.libraryFound) continue;
      try {
        pluginHost.driver(p.id);
      } catch (err) {
        logger.warn({ plugin: p.id, err }, 'driver not started');
      }
    }
  }

  if (o.bootstrapToken ?? config.bootstrapToken) {
    const tokens = new TokenStore(database);
    if ((await tokens.liveCount()) === 0) {
      const { token } = await tokens.create('bootstrap-ops', 'ops');
      // Printed once, to the terminal, never through the logger.
      (o.print ?? ((t) => process.stderr.write(t)))(
        `\n  First start: created an ops API token (shown only this once) / 首次启动：已创建运维令牌（仅显示一次）\n` +
          `    name: bootstrap-ops   role: ops\n    Authorization: Bearer ${token}\n` +
          `  More tokens: npx meterhub token create --role counter|bank|ops|billing --name <name>\n\n`,
      );
    }
  }

  // Readings reach billing through one durable outbox whatever the transport (gateway in-process or not).
  // With a meter directory, readings of unknown meters are held in quarantine (ops assign them over REST). A gateway
  // whose config reads the meter registry builds the registry's directory itself (gateways/gateway.ts).
  const directory = o.meterDirectory ? { directory: o.meterDirectory } : {};
  const gateway = o.gateway ? gatewayModule!.createGateway(o.gateway, { profiles, database, ...directory }) : undefined;
  const readings =
    gateway?.pipeline ??
    createReadingPipeline({
      database,
      onError: (e) => logger.error({ err: e }, 'reading pipeline error'),
      ...directory,
    });
  if (gateway) await gateway.start();
  else await readings.start();
  metrics?.attach({ readings, ...(gateway ? { gateway } : {}) });

  const trustProxy = o.trustProxy ?? parseTrustProxy(config.trustProxy);
  const metricsAccess = o.metricsAccess ?? {
    ...(config.metricsToken ? { token: config.metricsToken } : {}),
    ...(config.metricsAllow?.length ? { allow: [...config.metricsAllow] } : {}),
  };
  const app = await buildApp({
    pluginHost,
    database,
    profiles,
    logger,
    ...(metrics ? { metrics } : {}),
    config: {
      vault,
      ...(o.rateLimit !== undefined ? { rateLimit: o.rateLimit } : {}),
      metricsAccess,
      requiredPlugins: o.requiredPlugins ?? parseRequiredPlugins(config.requiredPlugins),
      ...(o.ledgerThread !== undefined ? { ledgerThread: o.ledgerThread } : {}),
      ...(o.pgOneStatement !== undefined ? { pgOneStatement: o.pgOneStatement } : {}),
      adoption: o.adoption ?? config.adoption,
      ...(trustProxy !== undefined ? { trustProxy } : {}),
      http: { ...httpLimitsOf(config), ...o.http },
    },
    routes: [
      {
        name: 'readings',
        routes: (child, ctx) =>
          readingRoutes(child, {
            pipeline: readings,
            authorize: ctx.authorize(rolesFor('readings.read')),
            authorizeOps: ctx.authorize(['ops']),
          }),
      },
      consoleRouteModule({ readings, gateway }),
    ],
  });
  const address = await app.listen({ port: o.port ?? config.port, host: o.host ?? config.host });
  let closed = false;
  return {
    app,
    url: address,
    database,
    pluginHost,
    readings,
    ...(gateway ? { gateway } : {}),
    ...(metrics ? { metrics } : {}),
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await pluginHost.close();
      // The gateway closes its pipeline and the shared database itself.
      if (gateway) await gateway.stop();
      else {
        await readings.close();
        await database.close();
      }
    },
  };
}

/**
 * Graceful shutdown with Node signals (close-with-grace in spirit): the first SIGINT/SIGTERM closes the
 * server (in-flight requests finish, drivers stop, the database closes); a second signal or the delay
 * elapsing exits at once.
 */
export function closeOnSignals(close: () => Promise<void>, o: { delayMs?: number; logger?: Logger } = {}): void {
  let closing = false;
  const handler = (signal: string, err?: unknown) => {
    if (closing) {
      o.logger?.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    closing = true;
    if (err) o.logger?.error({ err }, 'fatal error; shutting down');
    else o.logger?.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      o.logger?.error('shutdown took too long; exiting');
      process.exit(1);
    }, o.delayMs ?? 10_000);
    timer.unref();
    close().then(
      () => process.exit(err ? 1 : 0),
      (e: unknown) => {
        o.logger?.error({ err: e }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => handler('SIGINT'));
  process.on('SIGTERM', () => handler('SIGTERM'));
  process.on('uncaughtException', (e) => handler('uncaughtException', e));
  process.on('unhandledRejection', (e) => handler('unhandledRejection', e));
}
