/**
 * How other parts add routes to the API without editing app.ts: register a route plugin by name before
 * `buildApp` runs (or pass it in `deps.routes`). Each runs as an encapsulated fastify plugin and receives
 * `authorize(roles)` to protect its routes, plus the shared plugin host and database.
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
  /** Unique name; registering the same name again replaces the earlier one (tests, hot reload). */
  name: string;
  routes(app: FastifyInstance, ctx: ApiRouteContext): Promise<void> | void;
}

const registry = new Map<string, ApiRouteModule>();

export function registerApiRoutes(m: ApiRouteModule): void {
  registry.set(m.name, m);
}

export function registeredApiRoutes(): ApiRouteModule[] {
  return [...registry.values()];
}
