/**
 * The ops console: the built web app at /console, and the read-mostly ops views it needs that no domain
 * route offers. Every action the console takes (enable/disable a plugin, rewrite/reverse a transaction,
 * replay dead letters) goes through that domain's own audited /v1 route; the app audits every /v1 call,
 * these included.
 *
 *   GET  /v1/ops/transactions?state=&maker=&cardNo=&limit=   stuck writes first, with the allowed next steps
 *   GET  /v1/ops/gateway                                     in-process gateway stats, or why there are none
 *   GET  /v1/ops/meters?prefix=&limit=                        meters with readings
 *   GET  /v1/ops/meters/:id/readings?limit=                   one meter's history (chart)
 *   GET  /v1/ops/plugins/:id/conformance                      last conformance result of the configured library
 *   POST /v1/ops/plugins/:id/conformance                      run the conformance kit now
 */
import type { FastifyInstance } from 'fastify';
import type { ApiRouteContext, ApiRouteModule } from '../route-registry.ts';
import type { ReadingPipeline } from '../../readings/pipeline.ts';
import type { Gateway } from '../../../gateways/gateway.ts';
import { ConformanceCache } from './conformance-cache.ts';
import { listMeters, listTransactions, meterHistory, TX_STATES } from './ops-queries.ts';
import { consoleStatic } from './static.ts';
import type { TxState } from '../../ledger/ledger-schema.ts';
import { BadInput } from '../../errors/common-errors.ts';
import { CARD_NO_SEARCH_PATTERN, MAKER_ID_PATTERN, METER_ADDRESS_PATTERN } from '../../wire/patterns.ts';

export interface ConsoleRoutesOptions {
  readings: ReadingPipeline;
  gateway?: Gateway | undefined;
  /** Where the built app is (default build/console). */
  buildDir?: string;
  /** Injected in tests; default the real kit. */
  conformance?: ConformanceCache;
}

const tags = ['ops'];
const pluginId = { type: 'string', pattern: MAKER_ID_PATTERN } as const;
const meterId = { type: 'string', pattern: METER_ADDRESS_PATTERN } as const;
const limit = { type: 'string', pattern: '^[1-9][0-9]{0,3}$' } as const;

function parseStates(raw: string | undefined): TxState[] | undefined {
  if (!raw) return undefined;
  const list = raw
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  const bad = list.filter((s) => !(TX_STATES as readonly string[]).includes(s));
  if (bad.length) {
    throw BadInput(
      { field: 'querystring.state', allowed: TX_STATES },
      { zh: `未知状态 ${bad.join(',')}`, en: `unknown state ${bad.join(',')}` },
    );
  }
  return list as TxState[];
}

export async function consoleRoutes(
  app: FastifyInstance,
  ctx: ApiRouteContext,
  o: ConsoleRoutesOptions,
): Promise<void> {
  const ops = { preHandler: ctx.authorize(['ops']) };
  const conformance = o.conformance ?? new ConformanceCache(ctx.pluginHost);

  consoleStatic(app, o.buildDir ? { buildDir: o.buildDir } : {});

  // Ops views change second by second and hold operational detail: never cached by a browser or proxy.
  app.addHook('onSend', async (req, reply, payload) => {
    if (req.url.startsWith('/v1/ops/')) reply.header('cache-control', 'no-store');
    return payload;
  });

  app.get<{ Querystring: { state?: string; maker?: string; cardNo?: string; limit?: string } }>(
    '/v1/ops/transactions',
    {
      ...ops,
      schema: {
        tags,
        summary:
          '运维：交易台账（未确认与失败在前，附可执行的下一步）/ Ops: transactions, stuck writes first, with the next steps',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            state: { type: 'string', maxLength: 80, description: 'comma-separated: PREPARED,FAILED,…' },
            maker: pluginId,
            cardNo: { type: 'string', pattern: CARD_NO_SEARCH_PATTERN },
            limit: { ...limit, description: '1..500, default 100' },
          },
        },
      },
    },
    async (req) =>
      listTransactions(ctx.database, {
        state: parseStates(req.query.state),
        ...(req.query.maker ? { maker: req.query.maker } : {}),
        ...(req.query.cardNo ? { cardNo: req.query.cardNo } : {}),
        ...(req.query.limit ? { limit: Number(req.query.limit) } : {}),
      }),
  );

  app.get(
    '/v1/ops/gateway',
    {
      ...ops,
      schema: {
        tags,
        summary:
          '运维：网关状态（串口总线、表、MQTT、计费通道）/ Ops: gateway state (buses, meters, MQTT, billing sinks)',
      },
    },
    async () => {
      const sinks = await o.readings.stats();
      const g = o.gateway;
      if (!g) {
        return {
          inProcess: false,
          message: {
            zh: '本进程未运行网关（抄表由独立的 meterhub gateway 进程写入同一数据库）',
            en: 'No gateway in this process (separate `meterhub gateway` processes store readings in the same database)',
          },
          sinks,
          pipeline: { ...o.readings.counters },
        };
      }
      const stats = await g.stats();
      return {
        inProcess: true,
        gatewayId: g.config.gatewayId,
        profile: g.config.profile,
        buses: g.buses.map((b) => ({
          path: b.link.opts.path,
          baudRate: b.link.opts.baudRate,
          open: b.link.port.isOpen,
          counters: { ...b.link.counters },
          collectors: b.collectors.length,
          meters: b.master.stats(),
        })),
        mqtt: g.mqtt
          ? {
              url: redactUrl(g.config.mqtt?.url ?? ''),
              connected: g.mqtt.client?.connected === true,
              counters: stats.mqtt,
              outboundBacklog: stats.outboundBacklog,
              devices: g.mqtt.devices.size,
            }
          : null,
        sinks: stats.sinks,
        pipeline: { ...g.pipeline.counters },
        recentErrors: g.errors.slice(-10).map((e) => (e instanceof Error ? e.message : String(e)).slice(0, 300)),
      };
    },
  );

  app.get<{ Querystring: { prefix?: string; limit?: string } }>(
    '/v1/ops/meters',
    {
      ...ops,
      schema: {
        tags,
        summary: '运维：有抄表数据的表 / Ops: meters with readings',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { prefix: { type: 'string', pattern: '^[0-9A-Fa-f]{0,32}$' }, limit },
        },
      },
    },
    async (req) => ({
      meters: await listMeters(ctx.database, {
        ...(req.query.prefix ? { prefix: req.query.prefix } : {}),
        ...(req.query.limit ? { limit: Number(req.query.limit) } : {}),
      }),
    }),
  );

  app.get<{ Params: { id: string }; Querystring: { limit?: string } }>(
    '/v1/ops/meters/:id/readings',
    {
      ...ops,
      schema: {
        tags,
        summary: '运维：一块表的抄表历史 / Ops: one meter’s reading history',
        params: { type: 'object', required: ['id'], properties: { id: meterId } },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { limit: { ...limit, description: '1..5000, default 500' } },
        },
      },
    },
    async (req) => ({
      meterId: req.params.id,
      readings: await meterHistory(ctx.database, req.params.id, req.query.limit ? Number(req.query.limit) : 500),
    }),
  );

  const idParams = { type: 'object', required: ['id'], properties: { id: pluginId } } as const;

  app.get<{ Params: { id: string } }>(
    '/v1/ops/plugins/:id/conformance',
    {
      ...ops,
      schema: {
        tags,
        summary: '运维：已配置动态库的一致性测试结果 / Ops: conformance result of the configured library',
        params: idParams,
      },
    },
    async (req) => ({
      plugin: req.params.id,
      running: conformance.isRunning(req.params.id),
      result: conformance.cached(req.params.id),
    }),
  );

  app.post<{ Params: { id: string }; Body: { com?: number } | null }>(
    '/v1/ops/plugins/:id/conformance',
    {
      ...ops,
      schema: {
        tags,
        summary: '运维：立即运行一致性测试 / Ops: run the conformance kit now',
        params: idParams,
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: {
            com: {
              type: 'integer',
              minimum: 0,
              maximum: 255,
              description: 'CPU cards: reader port holding a blank card / CPU卡：放有空白卡的读写器端口',
            },
          },
        },
      },
    },
    async (req) => ({
      plugin: req.params.id,
      running: false,
      result: await conformance.run(req.params.id, req.body?.com !== undefined ? { com: req.body.com } : {}),
    }),
  );
}

function redactUrl(u: string): string {
  try {
    const url = new URL(u);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '';
  }
}

/** The module `startServer` adds to the app (core/server/server.ts). */
export function consoleRouteModule(o: ConsoleRoutesOptions): ApiRouteModule {
  return { name: 'console', routes: (child, ctx) => consoleRoutes(child, ctx, o) };
}
