/**
 * Webhook sink against a real HTTP server (retries with backoff, dead letters, replay, Idempotency-Key)
 * and the readings REST plugin through fastify.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MeterHubDatabase } from '../db/database.ts';
import { isMeterHubError } from '../errors/meterhub-error.ts';
import { WebhookBilling } from '../../gateways/testing/billing.ts';
import { createReadingPipeline, type ReadingPipeline } from './pipeline.ts';
import { readingRoutes } from './routes.ts';
import { WebhookSink } from './sinks/webhook-sink.ts';
import { fakeReading, tempSqlite, type TempDatabase } from './testing/fixtures.ts';

describe('webhook sink and readings routes', () => {
  let temp: TempDatabase;
  let db: MeterHubDatabase;
  let billing: WebhookBilling;
  let pipeline: ReadingPipeline;
  let app: FastifyInstance;

  beforeEach(async () => {
    temp = tempSqlite();
    db = temp.open();
    billing = new WebhookBilling();
    await billing.start();
    pipeline = createReadingPipeline({
      database: db,
      sinks: [new WebhookSink({ url: billing.url, concurrency: 4 })],
      dispatcher: { pollMs: 10, retry: { baseMs: 20, maxMs: 80, maxAttempts: 4 } },
    });
    await pipeline.start();
    app = Fastify();
    app.setErrorHandler((e, _req, reply) => {
      if (isMeterHubError(e)) return reply.status(e.status).send(e.toJSON());
      return reply.status((e as { statusCode?: number }).statusCode ?? 500).send({ message: (e as Error).message });
    });
    await app.register(readingRoutes, {
      pipeline,
      authorize: async (req, reply) => {
        if (req.headers.authorization !== 'Bearer billing') return reply.status(401).send({ code: 'UNAUTHORIZED' });
      },
      authorizeOps: async (req, reply) => {
        if (req.headers.authorization !== 'Bearer ops') return reply.status(403).send({ code: 'FORBIDDEN' });
      },
    });
  });

  afterEach(async () => {
    await app.close();
    await pipeline.close();
    await billing.close();
    await db.close();
    await temp.drop();
  });

  it('POSTs each reading with Idempotency-Key = reading id and retries 5xx with backoff', async () => {
    billing.failNext = 5;
    const res = await pipeline.submit(Array.from({ length: 10 }, (_, i) => fakeReading(i)));
    expect(await pipeline.drained(10_000)).toBe(true);
    expect(billing.byKey.size).toBe(10);
    for (const x of res.inserted) {
      const got = billing.byKey.get(x.id)!;
      expect(JSON.parse(got.body)).toMatchObject({ id: x.id, cumulative: expect.stringMatching(/^\d+\.\d{2}$/) });
    }
    expect(billing.posts).toBe(15);
    const s = (await pipeline.stats()).find((x) => x.sink === 'webhook')!;
    expect(s).toMatchObject({ backlog: 0, deadLetters: 0, deliveredTotal: 10 });
  });

  it('dead-letters 4xx at once and after too many 5xx; ops can list and replay', async () => {
    billing.failNext = 1;
    billing.failStatus = 422;
    await pipeline.submit([fakeReading(1)]);
    await waitUntil(async () => (await pipeline.listDeadLetters()).length === 1);
    billing.failNext = 4;
    billing.failStatus = 500;
    await pipeline.submit([fakeReading(2)]);
    await waitUntil(async () => (await pipeline.listDeadLetters()).length === 2);
    const list = await app.inject({
      method: 'GET',
      url: '/v1/readings/dead-letters?sink=webhook',
      headers: { authorization: 'Bearer ops' },
    });
    expect(list.statusCode).toBe(200);
    const dead = list.json().deadLetters as Array<{ id: number; lastError: string; attempts: number }>;
    expect(dead.map((d) => d.lastError).sort()).toEqual(['HTTP 422', 'HTTP 500']);
    expect(dead.find((d) => d.lastError === 'HTTP 500')!.attempts).toBe(4);
    expect(
      (
        await app.inject({
          method: 'GET',
          url: '/v1/readings/dead-letters',
          headers: { authorization: 'Bearer billing' },
        })
      ).statusCode,
    ).toBe(403);
    // Paging: query strings are text, and the API does not coerce types.
    const ids = dead.map((d) => d.id).sort((a, b) => a - b);
    const first = await app.inject({
      method: 'GET',
      url: '/v1/readings/dead-letters?sink=webhook&limit=1',
      headers: { authorization: 'Bearer ops' },
    });
    expect(first.json().deadLetters.map((d: { id: number }) => d.id)).toEqual([ids[0]]);
    const next = await app.inject({
      method: 'GET',
      url: `/v1/readings/dead-letters?sink=webhook&after=${ids[0]}&limit=5`,
      headers: { authorization: 'Bearer ops' },
    });
    expect(next.json().deadLetters.map((d: { id: number }) => d.id)).toEqual([ids[1]]);
    expect(
      (
        await app.inject({
          method: 'GET',
          url: '/v1/readings/dead-letters?after=-1',
          headers: { authorization: 'Bearer ops' },
        })
      ).statusCode,
    ).toBe(400);

    const replay = await app.inject({
      method: 'POST',
      url: '/v1/readings/dead-letters/replay',
      headers: { authorization: 'Bearer ops' },
      payload: { sink: 'webhook' },
    });
    expect(replay.json()).toEqual({ replayed: 2 });
    expect(await pipeline.drained(10_000)).toBe(true);
    expect(billing.byKey.size).toBe(2);
    expect((await pipeline.listDeadLetters()).length).toBe(0);
    const unknown = await app.inject({
      method: 'POST',
      url: '/v1/readings/dead-letters/replay',
      headers: { authorization: 'Bearer ops' },
      payload: { sink: 'nope' },
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe('READING_SINK_UNKNOWN');
  });

  it('GET /v1/readings pages by cursor in commit order, behind the authorize preHandler', async () => {
    await pipeline.submit(Array.from({ length: 25 }, (_, i) => fakeReading(i)));
    expect(await pipeline.drained(10_000)).toBe(true);
    expect((await app.inject({ method: 'GET', url: '/v1/readings' })).statusCode).toBe(401);
    const seen: string[] = [];
    let cursor = '0';
    for (;;) {
      const r = await app.inject({
        method: 'GET',
        url: `/v1/readings?after=${cursor}&limit=10`,
        headers: { authorization: 'Bearer billing' },
      });
      expect(r.statusCode).toBe(200);
      const body = r.json() as { items: Array<{ id: string; cursor: string; cumulative: string }>; nextCursor: string };
      if (!body.items.length) {
        expect(body.nextCursor).toBe(cursor);
        break;
      }
      seen.push(...body.items.map((i) => i.id));
      cursor = body.nextCursor;
    }
    expect(new Set(seen).size).toBe(25);
    expect(seen).toHaveLength(25);
    const bad = await app.inject({
      method: 'GET',
      url: '/v1/readings?after=-1',
      headers: { authorization: 'Bearer billing' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('READING_CURSOR_INVALID');
    const sinks = await app.inject({
      method: 'GET',
      url: '/v1/readings/sinks',
      headers: { authorization: 'Bearer ops' },
    });
    const rest = (
      sinks.json().sinks as Array<{
        sink: string;
        consumerBacklog: number;
        consumers: Array<{ consumer: string; cursor: string }>;
      }>
    ).find((s) => s.sink === 'rest')!;
    expect(rest.consumerBacklog).toBe(0);
    // This harness's authorize sets no req.actor, so the one consumer is the anonymous one.
    expect(rest.consumers).toEqual([expect.objectContaining({ consumer: 'anonymous', cursor })]);
  });
});

async function waitUntil(cond: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('condition not met in time');
}
