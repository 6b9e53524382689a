/**
 * Ops control over maker plugins: GET /v1/plugins (invalid ones too, with their error), POST
 * /v1/plugins/:id/enable|disable.
 * An encapsulated fastify plugin; the app passes the role check as a preHandler.
 */
import type { FastifyInstance, preHandlerHookHandler } from 'fastify';
import type {} from '@fastify/swagger';
import type { PluginHost, PluginState } from './plugin-types.ts';
import { STAND_IN_LABEL } from './plugin-host.ts';
import { MAKER_ID_PATTERN } from '../wire/patterns.ts';

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
    state: {
      type: 'string',
      enum: ['enabled', 'disabled', 'invalid'],
      description: 'invalid: the manifest could not be loaded (see error); never served',
    },
    error: { type: 'object', additionalProperties: true, description: 'Why an invalid plugin was not loaded' },
    dir: { type: 'string' },
    enabled: { type: 'boolean' },
    standIn: { type: 'boolean' },
    library: { type: 'string', description: 'stand-in library / 替身库, or real' },
    libraryFound: { type: 'boolean' },
    libraryPath: { type: 'string' },
    driver: {
      type: 'object',
      additionalProperties: true,
      properties: {
        state: { type: 'string' },
        restarts: { type: 'integer' },
        calls: { type: 'integer' },
        pid: { type: 'integer' },
      },
    },
  },
} as const;

export function presentPlugin(p: PluginState) {
  return {
    ...p,
    state: p.enabled ? ('enabled' as const) : ('disabled' as const),
    library: p.standIn ? STAND_IN_LABEL : 'real / 厂家正式库',
  };
}

/**
 * Every plugin folder found: the loaded ones, then the invalid ones (with their error; never loaded). An invalid
 * one carries the same fields as a loaded one (its id as its name, no card types), so a client written for
 * the plain list still shows it.
 */
export function presentAll(host: PluginHost) {
  return [
    ...host.list().map(presentPlugin),
    ...host.invalid().map((p) => ({
      ...p,
      name: { 'zh-CN': p.id, en: p.id },
      cardTypes: [],
      enabled: false,
      standIn: false,
      libraryFound: false,
      library: '清单无效 / invalid manifest',
    })),
  ];
}

export async function pluginRoutes(app: FastifyInstance, opts: PluginRoutesOptions): Promise<void> {
  const { host } = opts;
  const read = opts.authorizeRead ? { preHandler: opts.authorizeRead } : {};
  const write = opts.authorizeWrite ? { preHandler: opts.authorizeWrite } : {};
  const idParams = {
    type: 'object',
    required: ['id'],
    properties: { id: { type: 'string', pattern: MAKER_ID_PATTERN } },
  } as const;

  app.get(
    '/v1/plugins',
    {
      ...read,
      schema: {
        tags: ['plugins'],
        summary: '表厂插件列表 / List maker plugins',
        response: { 200: { type: 'object', properties: { plugins: { type: 'array', items: pluginStateSchema } } } },
      },
    },
    async () => ({ plugins: presentAll(host) }),
  );

  app.post<{ Params: { id: string } }>(
    '/v1/plugins/:id/enable',
    {
      ...write,
      schema: {
        tags: ['plugins'],
        summary: '启用表厂插件 / Enable a maker plugin',
        params: idParams,
        response: { 200: pluginStateSchema },
      },
    },
    async (req) => presentPlugin(await host.enable(req.params.id)),
  );

  app.post<{ Params: { id: string } }>(
    '/v1/plugins/:id/disable',
    {
      ...write,
      schema: {
        tags: ['plugins'],
        summary: '停用表厂插件 / Disable a maker plugin',
        params: idParams,
        response: { 200: pluginStateSchema },
      },
    },
    async (req) => presentPlugin(await host.disable(req.params.id)),
  );
}
