/**
 * Batched webhook delivery (issue 20, billing at volume): one POST carries up to N readings, idempotent per batch
 * (Idempotency-Key = batch id, a hash of its reading ids) and per reading (each keeps its id). Real HTTP receiver.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MeterHubDatabase } from '../db/database.ts';
import { WebhookBilling } from '../../gateways/testing/billing.ts';
import { createReadingPipeline, type ReadingPipeline } from './pipeline.ts';
import { WebhookSink, webhookBatchId } from './sinks/webhook-sink.ts';
import { fakeReading, tempSqlite, type TempDatabase } from './testing/fixtures.ts';

describe('batched webhook sink', () => {
  let temp: TempDatabase;
  let db: MeterHubDatabase;
  let billing: WebhookBilling;
  let pipeline: ReadingPipeline | null = null;

  beforeEach(async () => {
    temp = tempSqlite();
    db = temp.open();
    billing = new WebhookBilling();
    await billing.start();
  });

  afterEach(async () => {
    await pipeline?.close();
    pipeline = null;
    await billing.close();
    await db.close();
    await temp.drop();
  });

  async function start(sink: WebhookSink): Promise<ReadingPipeline> {
    pipeline = createReadingPipeline({
      database: db,
      sinks: [sink],
      restFeed: false,
      dispatcher: { pollMs: 10, retry: { baseMs: 20, maxMs: 80, maxAttempts: 4 } },
    });
    await pipeline.start();
    return pipeline;
  }

  it('carries up to N readings per POST; billing gets every reading once', async () => {
    const p = await start(new WebhookSink({ url: billing.url, readingsPerPost: 100, concurrency: 4 }));
    const res = await p.submit(Array.from({ length: 250 }, (_, i) => fakeReading(i)));
    expect(await p.drained(20_000)).toBe(true);
    expect(billing.byKey.size).toBe(250);
    expect([...billing.byKey.values()].every((x) => x.count === 1)).toBe(true);
    expect(billing.conflicts).toBe(0);
    // Far fewer requests than readings: at least 3 POSTs (100 + 100 + 50), never one per reading.
    expect(billing.posts).toBeGreaterThanOrEqual(3);
    expect(billing.posts).toBeLessThanOrEqual(25);
    expect(res.inserted).toHaveLength(250);
    const s = (await p.stats()).find((x) => x.sink === 'webhook')!;
    expect(s).toMatchObject({ backlog: 0, deadLetters: 0, deliveredTotal: 250 });
  });

  it('a repeated batch carries the same Idempotency-Key, and each reading its own id', async () => {
    const sink = new WebhookSink({ url: billing.url, readingsPerPost: 50 });
    // Stored by a pipeline without a webhook sink: only this test's sink posts.
    pipeline = createReadingPipeline({ database: db, dispatcher: { pollMs: 10 } });
    await pipeline.start();
    const res = await pipeline.submit(Array.from({ length: 30 }, (_, i) => fakeReading(i)));
    const stored = [...(await pipeline.store.getMany(res.inserted.map((x) => x.id))).values()];
    expect(stored).toHaveLength(30);
    // The same 30 readings delivered twice (e.g. a lease expired after billing had answered): one key.
    expect((await sink.deliver(stored)).every((r) => r.ok)).toBe(true);
    expect((await sink.deliver([...stored].reverse())).every((r) => r.ok)).toBe(true);
    await sink.close();
    const key = webhookBatchId(stored.map((r) => r.id));
    expect(billing.batches.get(key)).toBe(2);
    expect(billing.batches.size).toBe(1);
    expect(billing.posts).toBe(2);
    // Per reading, billing counted the repeat against the reading's own id and saw the same body.
    expect(billing.byKey.size).toBe(30);
    expect([...billing.byKey.values()].every((x) => x.count === 2)).toBe(true);
    expect(billing.conflicts).toBe(0);
  });

  it('after a failed POST every reading still arrives exactly once (retried batches may be re-formed)', async () => {
    billing.failNext = 2;
    const p = await start(new WebhookSink({ url: billing.url, readingsPerPost: 40, concurrency: 2 }));
    await p.submit(Array.from({ length: 120 }, (_, i) => fakeReading(i)));
    expect(await p.drained(20_000)).toBe(true);
    expect(billing.byKey.size).toBe(120);
    expect(billing.duplicates).toBe(0);
    expect((await p.stats())[0]).toMatchObject({ backlog: 0, deadLetters: 0, deliveredTotal: 120 });
  });

  it('a reading billing refuses in its per-reading answer becomes a dead letter; the rest are delivered', async () => {
    const p = await start(new WebhookSink({ url: billing.url, readingsPerPost: 10 }));
    const res = await p.submit(Array.from({ length: 10 }, (_, i) => fakeReading(i)));
    const refused = res.inserted[3]!.id;
    billing.refuse.add(refused);
    await p.drained(20_000);
    const dead = await p.listDeadLetters();
    expect(dead.map((d) => d.readingId)).toEqual([refused]);
    expect(dead[0]!.lastError).toContain('meter not in billing');
    expect(billing.byKey.size).toBe(9);
    expect(billing.byKey.has(refused)).toBe(false);
  });

  it('with two leases in flight every reading still arrives exactly once', async () => {
    const sink = new WebhookSink({ url: billing.url, readingsPerPost: 25, batchSize: 50, parallelLeases: 2 });
    const p = await start(sink);
    await p.submit(Array.from({ length: 400 }, (_, i) => fakeReading(i)));
    expect(await p.drained(20_000)).toBe(true);
    expect(billing.byKey.size).toBe(400);
    expect(billing.duplicates).toBe(0);
    // 400 / 25 = 16 POSTs when every lease is full; a lease cut short by group commit adds a partial one.
    expect(sink.posts).toBeGreaterThanOrEqual(16);
    expect(sink.posts).toBeLessThanOrEqual(40);
  });

  it('refuses a readingsPerPost outside 1..1000', () => {
    expect(() => new WebhookSink({ url: billing.url, readingsPerPost: 0 })).toThrow(RangeError);
    expect(() => new WebhookSink({ url: billing.url, readingsPerPost: 1001 })).toThrow(RangeError);
  });
});
