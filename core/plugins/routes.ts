/**
 * Ops control over maker plugins: GET /v1/plugins, POST /v1/plugins/:id/enable|disable.
 * An encapsulated fastify plugin; the app passes the role check as a preHandler.
 */
import type { FastifyInstance, preHandlerHookHandler } from 'fastify';
import type {} from '@fastify/swagger';
import type { PluginHost, PluginState } from './plugin-types.ts';
import { STAND_IN_LABEL } from './plugin-host.ts';

export interface PluginRoutesOptions {
  host: PluginHost;
  /** Role check for reading the list (e.g. any authenticated role). */
  authorizeRead?: preHandlerHookHandler;
  /** Role check for enable/disable (ops). */
  authorizeWrite?: preHandlerHookHandler;
}

const localized = { type: 'object', properties: { 'zh-CN': { type: 'string' }, en: { type: 'string' } } } as const;

const pluginStateSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: localized,
    cardTypes: { type: 'array', items: { type: 'string' } },
    enabled: { type: 'boolean' },
    standIn: { type: 'boolean' },
    library: { type: 'string', description: 'stand-in library / 替身库, or real' },
    libraryFound: { type: 'boolean' },
    libraryPath: { type: 'string' },
    driver: {
      type: 'object',
      additionalProperties: true,
      properties: { state: { type: 'string' }, restarts: { type: 'integer' }, calls: { type: 'integer' }, pid: { type: 'integer' } },
    },
  },
} as const;

export function presentPlugin(p: PluginState) {
  return { ...p, library: p.standIn ? STAND_IN_LABEL : 'real / 厂家正式库' };
}

export async function pluginRoutes(app: FastifyInstance, opts: PluginRoutesOptions): Promise<void> {
  const { host } = opts;
  const read = opts.authorizeRead ? { preHandler: opts.authorizeRead } : {};
  const write = opts.authorizeWrite ? { preHandler: opts.authorizeWrite } : {};
  const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[a-z][a-z0-9-]{1,39}$' } } } as const;

  app.get('/v1/plugins', {
    ...read,
    schema: { tags: ['plugins'], summary: '表厂插件列表 / List maker plugins', response: { 200: { type: 'object', properties: { plugins: { type: 'array', items: pluginStateSchema } } } } },
  }, async () => ({ plugins: host.list().map(presentPlugin) }));

  app.post<{ Params: { id: string } }>('/v1/plugins/:id/enable', {
    ...write,
    schema: { tags: ['plugins'], summary: '启用表厂插件 / Enable a maker plugin', params: idParams, response: { 200: pluginStateSchema } },
  }, async (req) => presentPlugin(await host.enable(req.params.id)));

  app.post<{ Params: { id: string } }>('/v1/plugins/:id/disable', {
    ...write,
    schema: { tags: ['plugins'], summary: '停用表厂插件 / Disable a maker plugin', params: idParams, response: { 200: pluginStateSchema } },
  }, async (req) => presentPlugin(await host.disable(req.params.id)));
}
