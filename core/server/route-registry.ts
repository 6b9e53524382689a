/**
 * How other parts add routes to the API without editing app.ts: the composition root passes their route
 * modules to `buildApp` (`deps.routes`, core/server/server.ts). There is no module-global registry: what an app
 * serves is decided where the app is built, so two apps in one process (tests) never see each other's routes.
 * Each module runs as an encapsulated fastify plugin and receives `authorize(roles)` to protect its routes,
 * plus the shared plugin host and database.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { MeterHubDatabase } from '../db/database.ts';
import type { PluginHost } from '../plugins/plugin-types.ts';
import type { Authorize } from './auth-hooks.ts';

export interface ApiRouteContext {
  pluginHost: PluginHost;
  database: MeterHubDatabase;
  authorize: Authorize;
  logger: Logger;
}

export interface ApiRouteModule {
  /** Unique name; a later module of the same name replaces an earlier one ("plugins" replaces the default). */
  name: string;
  routes(app: FastifyInstance, ctx: ApiRouteContext): Promise<void> | void;
}
