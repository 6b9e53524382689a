/**
 * The MeterHub HTTP API (fastify 5). One encapsulated plugin per route group; other parts add theirs through
 * `deps.routes` (core/server/route-registry.ts) and protect them with the `authorize(roles)` they receive.
 *
 * Cross-cutting, in order: request id → authentication (resolves the token to its immutable id) → rate limit
 * (per token id; every unauthenticated caller of an address shares one small bucket; health and readiness
 * never limited) → role check → schema validation → handler → audit append (awaited before the response
 * leaves; refused unauthenticated calls are tallied per address instead) → security headers.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Logger } from 'pino';
import { AuditLog } from '../audit/audit-log.ts';
import { rolesFor, type Role } from '../auth/roles.ts';
import { TokenStore } from '../auth/token-store.ts';
import { RefusalTally } from '../audit/refusal-tally.ts';
import type { MeterHubDatabase } from '../db/database.ts';
import { CardService, type AdoptionPolicy } from '../ledger/card-service.ts';
import type { KeyVault } from '../ledger/key-vault.ts';
import { LedgerStore } from '../ledger/ledger-store.ts';
import { ThreadedLedgerStore } from '../ledger/threaded-ledger-store.ts';
import { LedgerThread } from '../ledger/thread/ledger-thread.ts';
import { pluginRoutes } from '../plugins/routes.ts';
import type { PluginHost } from '../plugins/plugin-types.ts';
import { ProfileRegistry } from '../telemetry/profile-registry.ts';
import { errorHandler, notFoundHandler, RateLimited } from './api-errors.ts';
import { authenticate, authorize, authorizeBeforeValidation, routeRoles } from './auth-hooks.ts';
import { applyConnectionCap, fastifyHttpOptions, httpLimits, type HttpLimits } from './http-limits.ts';
import { createApiLogger, withRedaction } from './logger.ts';
import { echoRequestId, requestIdOptions } from '../http/request-id.ts';
import type { ApiRouteContext, ApiRouteModule } from './route-registry.ts';
import { cardRoutes } from './routes/cards.ts';
import { importRoutes } from './routes/imports.ts';
import { meterRoutes } from './routes/meters.ts';
import { adoptionRoutes } from './routes/adoption.ts';
import { catalogueRoutes } from './routes/catalogues.ts';
import { healthRoutes } from './routes/health.ts';
import { transactionRoutes } from './routes/transactions.ts';
import { MetricsAccess, type MetricsAccessConfig } from '../metrics/access.ts';
import type { MeterHubMetrics } from '../metrics/metrics.ts';
import { metricsRoute } from '../metrics/route.ts';

export const API_VERSION = '0.1.0';

export interface ApiConfig {
  /** Encrypts card keys at rest (core/ledger/key-vault.ts). */
  vault: KeyVault;
  /**
   * Per-token limit; false disables (benchmarks). Default 600 requests per minute per token id, and
   * `anonymousMax` (default 120) per window for everything without a valid token from one address.
   */
  rateLimit?: { max: number; timeWindow: number | string; anonymousMax?: number } | false;
  logLevel?: string;
  /**
   * Which proxies may set X-Forwarded-For (the client address for rate limits, audit, metrics allow-lists):
   * false (default), true (any: only when nothing but the proxy can reach the port), addresses or CIDRs
   * ('127.0.0.1', 'loopback'). docs/deploy/central-server-linux.md (nginx).
   */
  trustProxy?: boolean | string | string[];
  /** Slow-client limits and the connection cap (core/server/http-limits.ts); defaults there. */
  http?: Partial<HttpLimits>;
  /** How long a verified token is cached (ms); a revocation takes effect within this time. */
  tokenCacheMs?: number;
  /** Serve Swagger UI at /docs (default true). */
  docs?: boolean;
  /** Who may read GET /metrics besides ops tokens (core/metrics/access.ts). */
  metricsAccess?: MetricsAccessConfig;
  /** Plugins GET /v1/ready requires; undefined = every enabled plugin whose library exists (core/ops/readiness.ts). */
  requiredPlugins?: string[] | undefined;
  /**
   * On SQLite, commit ledger and audit units on the ledger thread (core/ledger/thread/) instead of the event
   * loop. Default true; false commits on the main thread (the tests run both ways).
   */
  ledgerThread?: boolean;
  /**
   * On PostgreSQL, a plain sale and an audit batch are each one guarded statement (LedgerStore
   * oneStatementSale, AuditLog). Default true; false only for the same-run comparison in bench/card-purchase.ts.
   */
  pgOneStatement?: boolean;
  /** Who may adopt a card unknown to the ledger (go-live): 'nobody' | 'ops' (default) | 'counter-with-reason'. */
  adoption?: AdoptionPolicy | undefined;
}

export interface AppDeps {
  pluginHost: PluginHost;
  database: MeterHubDatabase;
  logger?: Logger;
  config: ApiConfig;
  /** Route plugins of other parts (readings, console), added by the composition root. */
  routes?: ApiRouteModule[];
  /** Prometheus metrics: counted by hooks on this app and served at GET /metrics. */
  metrics?: MeterHubMetrics;
  /**
   * The program's dialect registry (the plugin host pushes enabled plugins' profiles into it): a meter import's
   * rows must name a profile there. Default: the built-in profiles only.
   */
  profiles?: Pick<ProfileRegistry, 'has' | 'list'>;
}

export interface AppServices {
  cards: CardService;
  ledger: LedgerStore;
  tokens: TokenStore;
  audit: AuditLog;
  /** Refused unauthenticated calls, written as one audit row per address and window. */
  refusals: RefusalTally;
  /** Every route this app serves, with the roles its role check allows (undefined: public). */
  routeTable: Array<{ method: string; url: string; roles: Role[] | undefined }>;
}

declare module 'fastify' {
  interface FastifyInstance {
    meterhub: AppServices;
  }
}

/** Audit everything under /v1 except the health and readiness probes (load balancers poll them every few seconds). */
const audited = (url: string) =>
  url.startsWith('/v1/') && !url.startsWith('/v1/health') && !url.startsWith('/v1/ready');

/** A caller's X-Request-Id is kept (logs, audit, the response header) when it is a plain token; else a new one. */
export { requestIdFor } from '../http/request-id.ts';

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { pluginHost, database, config } = deps;
  const logger = deps.logger ? withRedaction(deps.logger) : createApiLogger({ level: config.logLevel ?? 'info' });
  const limits = httpLimits(config.http);
  const app = Fastify({
    ...fastifyHttpOptions(limits),
    loggerInstance: logger,
    ...requestIdOptions,
    trustProxy: config.trustProxy ?? false,
    bodyLimit: 64 * 1024,
    // Amounts and counts are money: "10" is not 10. No coercion, no silently dropped fields.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: true } },
    return503OnClosing: true,
  }) as unknown as FastifyInstance;

  applyConnectionCap(app.server, limits);

  const thread =
    config.ledgerThread !== false && database.dialect === 'sqlite'
      ? new LedgerThread({
          file: database.location,
          vault: config.vault,
          onExit: (x) =>
            logger.error(
              { err: x.error, exitCode: x.code },
              'ledger thread stopped; calls in flight answered 503, next call starts a new one',
            ),
        })
      : undefined;
  if (thread) await thread.start();
  const ledger = thread
    ? new ThreadedLedgerStore(database, config.vault, thread)
    : new LedgerStore(database, config.vault, { oneStatementSale: config.pgOneStatement !== false });
  const cards = new CardService({ host: pluginHost, store: ledger, adoption: config.adoption });
  const tokens = new TokenStore(database, config.tokenCacheMs ?? 5000);
  const audit = new AuditLog(database, { thread, oneStatement: config.pgOneStatement !== false });
  const rl = config.rateLimit === false ? undefined : { max: 600, timeWindow: 60_000, ...config.rateLimit };
  const windowMs = typeof rl?.timeWindow === 'number' ? rl.timeWindow : 60_000;
  const refusals = new RefusalTally(
    (e) => audit.append(e),
    windowMs,
    (err) => logger.error({ err }, 'audit append failed'),
  );
  const routeTable: AppServices['routeTable'] = [];
  app.decorate('meterhub', { cards, ledger, tokens, audit, refusals, routeTable });
  app.addHook('onRoute', (o) => {
    authorizeBeforeValidation(o);
    for (const method of [o.method].flat()) {
      if (method !== 'HEAD') routeTable.push({ method, url: o.url, roles: routeRoles(o) });
    }
  });

  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  // Before any route is registered, so every route inherits the hooks.
  const metricsAccess = deps.metrics ? new MetricsAccess(config.metricsAccess) : undefined;
  if (deps.metrics) {
    deps.metrics.instrument(app, pluginHost);
    deps.metrics.attach({ pluginHost, database });
  }

  await app.register(helmet, {
    // Served on intranets over plain HTTP too: never force https sub-requests (that would blank /docs).
    contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
    hsts: false,
  });

  // Authentication first (a global hook runs before the limiter's per-route one): the limit is keyed by what
  // the token IS, not how the header is spelled ("bearer T", "BEARER T", "Bearer  T" are one token).
  app.addHook('onRequest', authenticate(tokens));

  if (rl) {
    const anonymousMax = rl.anonymousMax ?? Math.min(rl.max, 120);
    await app.register(rateLimit, {
      global: true,
      max: (req, key) => (key.startsWith('anon:') ? anonymousMax : rl.max),
      timeWindow: rl.timeWindow,
      // Per token id; no token, a malformed one and an unknown one all share one small bucket per address, so
      // random junk tokens cannot each open a fresh bucket.
      keyGenerator: (req) => (req.actor ? `t:${req.actor.tokenId}` : `anon:${req.ip}`),
      errorResponseBuilder: (_req, ctx) =>
        Object.assign(RateLimited({ limit: ctx.max, retryAfterSeconds: Math.ceil(ctx.ttl / 1000) }), {
          statusCode: 429,
        }),
    });
  }

  echoRequestId(app);
  app.addHook('onSend', async (req, reply, payload) => {
    if (!audited(req.url)) return payload;
    const path = req.url.split('?')[0] ?? req.url;
    if (!req.actor && reply.statusCode >= 400) {
      // Refused without a valid token: counted per address, one audit row per window (not one per junk call).
      refusals.add(req.ip ?? null, reply.statusCode, path.slice(0, 200));
      return payload;
    }
    try {
      await audit.append({
        at: new Date().toISOString(),
        requestId: req.id,
        actor: req.actor?.name ?? null,
        role: req.actor?.role ?? null,
        channel: req.actor?.channel ?? null,
        clerk: req.actor?.clerk ?? null,
        method: req.method,
        path,
        route: req.routeOptions?.url ?? null,
        status: reply.statusCode,
        transactionId: req.auditTx ?? null,
        idempotencyKey: req.auditIdem ?? null,
        ip: req.ip ?? null,
        durationMs: reply.elapsedTime,
      });
    } catch (err) {
      // The ledger already holds who did what; an audit outage is loud but does not lose a committed sale.
      req.log.error({ err }, 'audit append failed');
    }
    return payload;
  });
  app.addHook('onClose', async () => {
    await refusals.flush().catch((err: unknown) => logger.error({ err }, 'audit append failed'));
    await audit.flush();
    await thread?.close();
  });

  if (config.docs !== false) {
    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'MeterHub 燃气表具统一接入平台 API',
          version: API_VERSION,
          description:
            'Card sales on every maker through one API. Every write is recorded in the ledger before the answer leaves; ' +
            'retry with the same Idempotency-Key. 所有写卡操作先记台账再返回。',
        },
        components: {
          securitySchemes: {
            bearer: {
              type: 'http',
              scheme: 'bearer',
              description: 'npx meterhub token create --role counter|bank|ops|billing --name <n>',
            },
          },
        },
        security: [{ bearer: [] }],
      },
    });
    await app.register(swaggerUi, {
      routePrefix: '/docs',
      staticCSP:
        "default-src 'self'; base-uri 'self'; font-src 'self' https: data:; frame-ancestors 'self'; img-src 'self' data: validator.swagger.io; object-src 'none'; script-src 'self'; script-src-attr 'none'; style-src 'self' https: 'unsafe-inline'",
      uiConfig: { validatorUrl: null },
    });
  }

  await app.register(healthRoutes, {
    pluginHost,
    database,
    vault: config.vault,
    version: API_VERSION,
    requiredPlugins: config.requiredPlugins,
  });
  if (deps.metrics && metricsAccess) await app.register(metricsRoute, { metrics: deps.metrics, access: metricsAccess });
  await app.register(catalogueRoutes, { pluginHost });
  await app.register(cardRoutes, { cards });
  await app.register(transactionRoutes, { cards });
  await app.register(importRoutes, { pluginHost, database, profiles: deps.profiles ?? new ProfileRegistry() });
  await app.register(meterRoutes, { database });
  await app.register(adoptionRoutes, { cards });

  const ctx: ApiRouteContext = { pluginHost, database, authorize, logger };
  const extra = new Map<string, ApiRouteModule>();
  // Default plugin routes (core/plugins/routes.ts); a registered "plugins" module replaces them.
  extra.set('plugins', {
    name: 'plugins',
    routes: (child) =>
      pluginRoutes(child, {
        host: pluginHost,
        authorizeRead: authorize(rolesFor('plugins.read')),
        authorizeWrite: authorize(rolesFor('plugins.write')),
      }),
  });
  for (const m of deps.routes ?? []) extra.set(m.name, m);
  for (const m of extra.values()) await app.register(async (child) => m.routes(child, ctx));

  await app.ready();
  return app;
}
