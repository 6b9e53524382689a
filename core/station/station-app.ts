/**
 * The station's local API for the counter client: HTTP on 127.0.0.1 (fastify; OpenAPI at /docs) and a
 * WebSocket of events. One call per counter operation; the station does the card work and the ledger
 * conversation with the central server.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import type { Logger } from 'pino';
import { createErrorHandler, createNotFoundHandler } from '../http/error-reply.ts';
import { echoRequestId, requestIdOptions } from '../http/request-id.ts';
import { isMeterHubError } from '../errors/meterhub-error.ts';
import type { PluginHost } from '../plugins/plugin-types.ts';
import type { CentralClient } from './central-client.ts';
import type { CpuCardOps } from './cpu-ops.ts';
import type { MemoryCardOps } from './memory-ops.ts';
import type { PendingWrites } from './pending-writes.ts';
import type { CardType, ReaderDriver } from './readers/reader-driver.ts';
import { ReaderNoCard, ReaderUnknownCard } from './readers/reader-errors.ts';
import { CARD_NO_PATTERN, MAKER_ID_PATTERN } from '../wire/patterns.ts';
import { standInMeterWriteBack, type SimControl, type SimInsertBody } from './sim-control.ts';
import { bindClerk } from './clerk-context.ts';
import { registerCounterPage } from './counter-page.ts';
import { bearerKey, registerStationGuards } from './station-guard.ts';
import type { PairingStore } from './station-pairing.ts';
import { StationBadInput, StationNoCard, StationNotPaired, StationSimOnly } from './station-errors.ts';
import { OperationProgress, type StationEvents } from './station-events.ts';

export const STATION_API_VERSION = '0.1.0';

export interface StationAppDeps {
  reader: ReaderDriver;
  central: CentralClient;
  memory: MemoryCardOps;
  cpu: CpuCardOps;
  pending: PendingWrites;
  events: StationEvents;
  host: PluginHost;
  logger: Logger;
  sim?: SimControl | undefined;
  pairing: PairingStore;
  /** Browser origins besides the station's own page (--allow-origin). */
  allowOrigins: string[];
}

/** Said in every answer of a station on the simulated reader, so nobody takes a training sale for a real one. */
export const SIM_READER_LABEL = { zh: '模拟读卡器（培训）', en: 'simulated reader (training)' } as const;

const S = {
  maker: { type: 'string', pattern: MAKER_ID_PATTERN, description: '表厂插件 id, e.g. kingcard' },
  cardNo: { type: 'string', pattern: CARD_NO_PATTERN, description: '卡号 kh' },
  gas: { type: 'integer', minimum: 0, maximum: 99_999_999, description: '气量 ql, whole m³' },
  meterKind: { type: 'integer', enum: [1, 2], default: 1, description: 'klx: 1 民用, 2 工业' },
  txId: { type: 'string', pattern: '^(tx|cpu)_[0-9a-z]{9,40}$' },
} as const;
const body = (required: string[], properties: Record<string, unknown>) =>
  ({ type: 'object', additionalProperties: false, required, properties }) as const;
const errorSchema = {
  type: 'object',
  properties: {
    error: { type: 'object', additionalProperties: true },
    readerLabel: { type: 'object', additionalProperties: true },
  },
} as const;
const open = { type: 'object', additionalProperties: true } as const;
const responses = { 200: open, '4xx': errorSchema, '5xx': errorSchema } as const;

export async function buildStationApp(d: StationAppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: d.logger,
    ...requestIdOptions,
    bodyLimit: 64 * 1024,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: true, useDefaults: true } },
  }) as unknown as FastifyInstance;

  const port = () => {
    const a = app.server.address();
    return typeof a === 'object' && a ? a.port : -1;
  };
  registerStationGuards(app, { pairing: d.pairing, allowOrigins: d.allowOrigins, port });
  // Errors are labelled by their handlers (preSerialization does not see them).
  const label = d.sim ? { readerLabel: SIM_READER_LABEL } : {};
  if (d.sim) {
    app.addHook('preSerialization', async (_req, reply, payload: unknown) => {
      reply.header('x-meterhub-reader', 'sim');
      if (payload && typeof payload === 'object' && !Array.isArray(payload))
        return { ...payload, readerLabel: SIM_READER_LABEL };
      return payload;
    });
  }

  // The same error answers, request ids and statuses as the central server (core/http/).
  app.setErrorHandler(createErrorHandler({ extraBody: () => label }));
  app.setNotFoundHandler(createNotFoundHandler({ extraBody: () => label }));
  echoRequestId(app);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'MeterHub 柜台工作站 / counter station API',
        version: STATION_API_VERSION,
        description:
          'One call per counter operation; the station reads and writes the card and talks to the central server. 每个柜台操作一次调用。Events: WebSocket /v1/station/events.',
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { validatorUrl: null } });
  await app.register(websocket);

  // One card operation at a time: the reader is one physical slot.
  let chain: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    // Queued work still runs for the clerk who asked for it.
    const fn = bindClerk(work);
    const run = chain.then(fn, fn);
    chain = run.catch(() => undefined);
    return run;
  };

  const ensureOpen = async () => {
    if (!d.reader.isOpen) await d.reader.open();
  };

  /** Runs one operation with progress events; memory or CPU path by what is in the reader. */
  const operate = (name: string, fn: (p: OperationProgress, type: CardType) => Promise<Record<string, unknown>>) =>
    exclusive(async () => {
      const p = new OperationProgress(d.events, randomUUID(), name);
      try {
        await ensureOpen();
        const type = await d.reader.detectCard();
        if (type === 'none') throw ReaderNoCard({ reader: d.reader.kind });
        if (type === 'unknown') throw ReaderUnknownCard({ reader: d.reader.kind });
        const r = await fn(p, type);
        p.done((r.transactionId as string | undefined) ?? null);
        return { ...r, operationId: p.operationId };
      } catch (e) {
        p.failed(
          isMeterHubError(e) ? e.code : 'ERROR',
          isMeterHubError(e) ? ((e.details?.transactionId as string | undefined) ?? null) : null,
        );
        throw e;
      }
    });

  const tags = ['station'];

  // Open to any local caller (the counter page shows it before pairing): details only with a pairing key.
  app.get(
    '/v1/station/health',
    { schema: { tags, summary: '工作站状态 / Station status', response: { 200: open } } },
    async (req) => ({
      status: 'ok',
      version: STATION_API_VERSION,
      reader: { kind: d.reader.kind, open: d.reader.isOpen, training: !!d.sim },
      paired: !!d.pairing.verify(bearerKey(req)),
      ...(d.pairing.verify(bearerKey(req))
        ? {
            server: d.central.url,
            pending: d.pending.list().length,
            plugins: d.host
              .list()
              .filter((p) => p.cardTypes.includes('cpu'))
              .map((p) => ({ id: p.id, enabled: p.enabled, standIn: p.standIn })),
          }
        : {}),
    }),
  );

  app.get(
    '/v1/station/card',
    {
      schema: {
        tags,
        summary: '读卡并判卡 / Read and identify the card in the reader',
        response: { 200: open, '4xx': errorSchema, '5xx': errorSchema },
      },
    },
    async () => {
      try {
        return await operate('read', (p, type) => (type === 'cpu' ? d.cpu.show(p) : d.memory.show(p, type)));
      } catch (e) {
        if (isMeterHubError(e) && ReaderNoCard.is(e)) throw StationNoCard({ reader: d.reader.kind });
        throw e;
      }
    },
  );

  const issueBody = body(['maker', 'cardNo', 'gas'], {
    maker: S.maker,
    cardNo: S.cardNo,
    gas: S.gas,
    meterKind: S.meterKind,
  });
  type IssueBody = { maker: string; cardNo: string; gas: number; meterKind: number };

  app.post<{ Body: IssueBody }>(
    '/v1/station/issue',
    {
      schema: {
        tags,
        summary: '发新卡（空白卡，次数1）/ Issue a new card on a blank card',
        body: issueBody,
        response: responses,
      },
    },
    async (req) =>
      operate('issue', (p, type) => (type === 'cpu' ? d.cpu.issue(p, req.body) : d.memory.issue(p, req.body))),
  );

  app.post<{ Body: IssueBody }>(
    '/v1/station/reissue',
    {
      schema: {
        tags,
        summary: '补卡（次数取台账实际次数）/ Reissue with the ledger count',
        body: issueBody,
        response: responses,
      },
    },
    async (req) =>
      operate('reissue', (p, type) =>
        type === 'cpu' ? d.cpu.issue(p, req.body, true) : d.memory.reissue(p, req.body),
      ),
  );

  app.post<{ Body: { gas: number } }>(
    '/v1/station/purchase',
    {
      schema: {
        tags,
        summary: '购气（次数由服务器按卡和台账决定）/ Sell gas (the server decides the count)',
        body: body(['gas'], { gas: { ...S.gas, minimum: 1 } }),
        response: responses,
      },
    },
    async (req) =>
      operate('purchase', (p, type) =>
        type === 'cpu' ? d.cpu.purchase(p, req.body) : d.memory.purchase(p, req.body, type),
      ),
  );

  // Mutating routes take a JSON object even when it is empty: a body-less POST (what a no-cors page sends) is a 400.
  const empty = { type: 'object', additionalProperties: false, properties: {} } as const;
  app.post(
    '/v1/station/refund',
    { schema: { tags, summary: '退气 / Refund', body: empty, response: responses } },
    async () => operate('refund', (p, type) => (type === 'cpu' ? d.cpu.refund(p) : d.memory.refund(p, type))),
  );

  app.post(
    '/v1/station/format',
    { schema: { tags, summary: '擦卡 / Format the card', body: empty, response: responses } },
    async () => operate('format', (p, type) => (type === 'cpu' ? d.cpu.format(p) : d.memory.format(p))),
  );

  app.post<{ Body: { maker: string; tool: string; params?: Record<string, string> } }>(
    '/v1/station/tool',
    {
      schema: {
        tags,
        summary: '制作工具卡（空白卡）/ Make a tool card on a blank card',
        body: body(['maker', 'tool'], {
          maker: S.maker,
          tool: {
            type: 'string',
            pattern: '^(CLEAR|CHECK|SETUP|VALVE_OPEN|VALVE_CLOSE|TRANSFER|CLOCK|REKEY|X_[A-Z0-9_]{1,30})$',
          },
          params: {
            type: 'object',
            maxProperties: 16,
            additionalProperties: { type: 'string', pattern: '^[0-9A-Za-z_.:-]{1,40}$' },
          },
        }),
        response: responses,
      },
    },
    async (req) =>
      operate('tool', (p, type) => (type === 'cpu' ? d.cpu.tool(p, req.body) : d.memory.tool(p, req.body))),
  );

  app.post<{ Body: { transactionId: string; action: string; supervisorToken?: string } }>(
    '/v1/station/recover',
    {
      schema: {
        tags,
        summary:
          '写卡失败后的恢复 / Recover an unfinished write: retry | confirm | rewrite (掉气补气) | reverse (冲正)',
        body: body(['transactionId', 'action'], {
          transactionId: S.txId,
          action: { type: 'string', enum: ['retry', 'confirm', 'rewrite', 'reverse'] },
          supervisorToken: {
            type: 'string',
            minLength: 8,
            maxLength: 200,
            description: "optional ops token, for a transaction this station's token did not create (never logged)",
          },
        }),
        response: responses,
      },
    },
    async (req) =>
      exclusive(async () => {
        const p = new OperationProgress(d.events, randomUUID(), `recover:${req.body.action}`);
        try {
          await ensureOpen().catch(() => undefined);
          // A memory write this station holds, else whatever the server says the transaction is.
          const cpu = !d.pending.get(req.body.transactionId) && (await d.cpu.isCpuTransaction(req.body.transactionId));
          const r = cpu ? await d.cpu.recover(p, req.body) : await d.memory.recover(p, req.body);
          p.done((r.transactionId as string | undefined) ?? null);
          return r;
        } catch (e) {
          p.failed(isMeterHubError(e) ? e.code : 'ERROR', req.body.transactionId);
          throw e;
        }
      }),
  );

  app.get(
    '/v1/station/pending',
    { schema: { tags, summary: '未完成的写卡 / Unfinished writes (no keys)', response: { 200: open } } },
    async () => ({ pending: d.pending.list() }),
  );

  app.get<{ Querystring: { maker: string; cardNo: string } }>(
    '/v1/station/cpu-ledger',
    {
      schema: {
        tags,
        summary: "CPU 卡台账（中心服务器）/ A card's CPU transactions in the central ledger",
        querystring: body(['maker', 'cardNo'], { maker: S.maker, cardNo: S.cardNo }),
        response: { 200: open, '4xx': errorSchema, '5xx': errorSchema },
      },
    },
    async (req) => d.cpu.history(req.query.maker, req.query.cardNo),
  );

  app.get(
    '/v1/station/events',
    {
      websocket: true,
      schema: {
        tags,
        summary:
          '事件 WebSocket / Events: card.inserted, card.removed, reader.gone, step, operation.*. First message: {"type":"auth","key":"mhs_…"}',
      },
    },
    (socket, req) => {
      // Host and Origin were checked on the upgrade. The key comes as a header (non-browser clients) or as the
      // first message (browsers cannot set headers on a WebSocket); nothing is sent before it is right.
      let off: (() => void) | null = null;
      const start = () => {
        socket.send(
          JSON.stringify({
            type: 'hello',
            version: STATION_API_VERSION,
            reader: d.reader.kind,
            ...(d.sim ? { readerLabel: SIM_READER_LABEL } : {}),
          }),
        );
        off = d.events.subscribe((e) => {
          if (socket.readyState === 1) socket.send(JSON.stringify(e));
        });
      };
      const refuse = () => {
        const e = StationNotPaired({});
        socket.send(JSON.stringify({ type: 'error', error: { code: e.code, messageZh: e.zh, messageEn: e.en } }));
        socket.close(4401, 'not paired');
      };
      const timer = setTimeout(refuse, 10_000);
      socket.on('close', () => {
        clearTimeout(timer);
        off?.();
      });
      if (d.pairing.verify(bearerKey(req))) {
        clearTimeout(timer);
        start();
        return;
      }
      socket.once('message', (raw: Buffer) => {
        clearTimeout(timer);
        let key: unknown;
        try {
          key = (JSON.parse(raw.toString('utf8')) as { type?: string; key?: unknown }).key;
        } catch {
          /* refused below */
        }
        if (d.pairing.verify(key)) start();
        else refuse();
      });
    },
  );

  registerCounterPage(app, { training: !!d.sim });

  // ---- simulated reader only: the routes exist only when --reader sim was asked for -------------------
  if (!d.sim) {
    app.all('/v1/station/sim/*', { schema: { hide: true } }, async () => {
      throw StationSimOnly({ reader: d.reader.kind });
    });
    await app.ready();
    return app;
  }
  const simControl = d.sim;
  const sim = (): SimControl => simControl;
  const simTags = ['sim'];
  app.post<{ Body: SimInsertBody }>(
    '/v1/station/sim/insert',
    {
      schema: {
        tags: simTags,
        summary: '仿真：插卡（无镜像=出厂空白卡）/ Sim: insert a card (blank factory card without image)',
        body: body(['cardType'], {
          cardType: { type: 'string', enum: ['4442', '102', 'cpu'] },
          image: { type: 'string', pattern: '^[0-9A-Fa-f]+$', maxLength: 512 },
          psc: { type: 'string', pattern: '^[0-9A-Fa-f]{6}$' },
          serial: { type: 'string', pattern: '^[0-9A-Za-z_-]{1,64}$' },
        }),
        response: responses,
      },
    },
    async (req) =>
      exclusive(async () => {
        await ensureOpen().catch(() => undefined);
        return sim().insert(req.body);
      }),
  );
  app.post(
    '/v1/station/sim/remove',
    { schema: { tags: simTags, summary: '仿真：拔卡 / Sim: remove the card', body: empty, response: responses } },
    async () => exclusive(async () => sim().remove()),
  );
  app.get(
    '/v1/station/sim/card',
    {
      schema: {
        tags: simTags,
        summary: '仿真：卡片原始镜像（密码已屏蔽）/ Sim: raw image, passwords masked',
        response: responses,
      },
    },
    async () => sim().card(),
  );
  app.post<{ Body: { present: boolean } }>(
    '/v1/station/sim/psam',
    {
      schema: {
        tags: simTags,
        summary: '仿真：插入/拔出 PSAM / Sim: PSAM in or out',
        body: body(['present'], { present: { type: 'boolean' } }),
        response: responses,
      },
    },
    async (req) => sim().setPsam(req.body.present),
  );
  app.post<{ Body: { pullCardAfterWrites?: number; disconnect?: boolean; reconnect?: boolean } }>(
    '/v1/station/sim/fault',
    {
      schema: {
        tags: simTags,
        summary: '仿真：故障注入 / Sim: faults',
        body: body([], {
          pullCardAfterWrites: { type: 'integer', minimum: 0, maximum: 10000 },
          disconnect: { type: 'boolean' },
          reconnect: { type: 'boolean' },
        }),
        response: responses,
      },
    },
    async (req) => sim().fault(req.body),
  );
  app.post<{ Body: { status?: number; lastCode?: number; months?: Array<[number, number]> } }>(
    '/v1/station/sim/meter',
    {
      schema: {
        tags: simTags,
        summary:
          '仿真：替身表读卡并回写（仅替身库）/ Sim: stand-in meter takes the gas and writes back (stand-in libraries only)',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'integer', minimum: 0, maximum: 255 },
            lastCode: { type: 'integer', minimum: 0, maximum: 255 },
            months: {
              type: 'array',
              maxItems: 12,
              items: {
                type: 'array',
                minItems: 2,
                maxItems: 2,
                items: { type: 'integer', minimum: 0, maximum: 999999 },
              },
            },
          },
        },
        response: responses,
      },
    },
    async (req) =>
      exclusive(async () => {
        const s = sim();
        await ensureOpen();
        const cur = s.interfaceData();
        if (!cur) throw StationNoCard({ reader: 'sim' });
        const id = await d.central.call<{ maker: string }>('POST', '/v1/cards/identify', {
          body: { cardType: cur.cardType, data: cur.cardType === '102' ? cur.data.slice(0, 44) : cur.data },
        });
        const st = d.host.get(id.maker);
        if (!st?.standIn || !st.libraryPath) {
          throw StationBadInput(
            { field: 'maker', maker: id.maker },
            { zh: '替身表只能用于替身库插件', en: 'the stand-in meter works only with stand-in plugins' },
          );
        }
        const b = req.body;
        const data = standInMeterWriteBack(st.libraryPath, cur.cardType, cur.data, b);
        s.putInterfaceData(data);
        return { ok: true, maker: id.maker, meter: 'stand-in meter / 替身表', library: 'stand-in library / 替身库' };
      }),
  );

  await app.ready();
  return app;
}
