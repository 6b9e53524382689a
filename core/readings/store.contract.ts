/**
 * One contract suite for every reading-store backend (MQTT.js abstract-store style): each backend's test
 * file calls storeContract() with a factory for a fresh, empty database.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MeterHubDatabase } from '../db/database.ts';
import { migrateAll } from '../schema/all-migrations.ts';
import { createReadingPipeline } from './pipeline.ts';
import { dedupeKey, readingId } from './reading-id.ts';
import type { BillingSink, DeliveryResult } from './sink-types.ts';
import { ReadingStore, type StoredReading } from './store.ts';
import { fakeReading, type TempDatabase } from './testing/fixtures.ts';

const POLICY = { baseMs: 1000, maxMs: 60_000, maxAttempts: 3 };

export function storeContract(name: string, makeDb: () => Promise<TempDatabase | null>): void {
  describe(`reading store contract: ${name}`, () => {
    let temp: TempDatabase | null;
    let h: MeterHubDatabase;
    let store: ReadingStore;

    beforeEach(async (ctx) => {
      temp = await makeDb();
      if (!temp) {
        ctx.skip();
        return;
      }
      h = temp.open();
      await migrateAll(h);
      store = new ReadingStore(h, ['webhook', 'rest']);
    });

    afterEach(async () => {
      if (!temp) return;
      await h.close();
      await temp.drop();
    });

    it('stores volumes as exact decimal strings', async () => {
      const values = ['0.10', '556677.00', '12345678.90', '0.001', '99999999.99'];
      const res = await store.ingest(
        values.map((v, i) => ({ reading: fakeReading(i, { cumulative: v, settlement: v, history: { D120: v } }) })),
      );
      expect(res.inserted).toHaveLength(values.length);
      const got = await store.getMany(res.inserted.map((x) => x.id));
      const byCum = [...got.values()].map((r) => [r.cumulative, r.settlement, r.history.D120]);
      expect(byCum.sort()).toEqual(values.map((v) => [v, v, v]).sort());
    });

    it('keeps the bytes a dialect appends after 16H (NB-IoT RSSI) with the reading', async () => {
      const res = await store.ingest([
        { reading: { ...fakeReading(1), trailer: { name: 'rssi', hex: '1A05' } } },
        { reading: fakeReading(2) },
      ]);
      const got = await store.getMany(res.inserted.map((x) => x.id));
      expect([...got.values()].map((r) => r.trailer ?? null).sort()).toEqual([{ name: 'rssi', hex: '1A05' }, null]);
    });

    it('rejects floats and malformed readings without storing anything for them', async () => {
      const bad = [
        fakeReading(1, { cumulative: 1.1 as unknown as string }),
        fakeReading(2, { meterId: '' }),
        fakeReading(3, { cumulative: '1e5' }),
        fakeReading(4, { rawFrame: 'zz' }),
      ];
      const res = await store.ingest([...bad.map((reading) => ({ reading })), { reading: fakeReading(5) }]);
      expect(res.rejected.map((r) => r.index)).toEqual([0, 1, 2, 3]);
      expect(res.inserted).toHaveLength(1);
      expect(await store.count()).toBe(1);
    });

    it('dedupes by (meterId, meterTime) within a batch and across batches', async () => {
      const a = fakeReading(7);
      const again = { ...a, cumulative: '1.00', rawFrame: 'AB', source: 'serial' as const };
      const first = await store.ingest([{ reading: a }, { reading: again }]);
      expect(first.inserted).toHaveLength(1);
      expect(first.duplicates).toEqual([readingId(dedupeKey(a))]);
      const second = await store.ingest([{ reading: again }, { reading: fakeReading(8) }]);
      expect(second.inserted).toHaveLength(1);
      expect(second.duplicates).toHaveLength(1);
      expect(await store.count()).toBe(2);
      const outbox = await h.db.selectFrom('reading_outbox').select(['reading_id', 'sink']).execute();
      expect(outbox).toHaveLength(4);
    });

    it('dedupes readings without a meter time by the raw frame hash', async () => {
      const r1 = fakeReading(1, { meterTime: null, rawFrame: '6830AA16' });
      const r2 = fakeReading(1, { meterTime: null, rawFrame: '68 30 aa 16'.replace(/ /g, '') });
      const r3 = fakeReading(1, { meterTime: null, rawFrame: '6830AB16' });
      const res = await store.ingest([{ reading: r1 }, { reading: r2 }, { reading: r3 }]);
      expect(res.inserted).toHaveLength(2);
      expect(res.duplicates).toHaveLength(1);
    });

    it('writes readings and outbox rows in one transaction (a failing hook leaves nothing)', async () => {
      await expect(
        store.ingest(
          [{ reading: fakeReading(1) }],
          [
            async () => {
              throw new Error('boom');
            },
          ],
        ),
      ).rejects.toThrow('boom');
      expect(await store.count()).toBe(0);
      const outbox = await h.db.selectFrom('reading_outbox').selectAll().execute();
      expect(outbox).toHaveLength(0);
      const ok = await store.ingest(
        [{ reading: fakeReading(1) }],
        [
          async (trx) => {
            await trx
              .insertInto('collector_progress')
              .values({ collector_id: 'c1', committed_seq: 5, acked_seq: 0, updated_at: 1 })
              .execute();
          },
        ],
      );
      expect(ok.inserted).toHaveLength(1);
      const progress = await h.db.selectFrom('collector_progress').selectAll().execute();
      expect(progress.map((p) => Number(p.committed_seq))).toEqual([5]);
    });

    it('leases rows to one claimer at a time and re-offers expired leases', async () => {
      await store.ingest(Array.from({ length: 10 }, (_, i) => ({ reading: fakeReading(i) })));
      const now = Date.now();
      const [a, b] = await Promise.all([
        store.claim('webhook', 'A', 6, 1000, now),
        store.claim('webhook', 'B', 6, 1000, now),
      ]);
      const ids = [...a, ...b].map((r) => r.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toHaveLength(10);
      expect(await store.claim('webhook', 'C', 10, 1000, now + 10)).toHaveLength(0);
      const again = await store.claim('webhook', 'C', 10, 1000, now + 2000);
      expect(again).toHaveLength(10);
      // The old owner's completion no longer counts: the lease moved on.
      expect(
        await store.complete(
          'webhook',
          'A',
          a.map((r) => r.id),
        ),
      ).toBe(0);
      expect(
        await store.complete(
          'webhook',
          'C',
          again.map((r) => r.id),
        ),
      ).toBe(10);
      const stats = (await store.stats()).find((s) => s.sink === 'webhook')!;
      expect(stats).toMatchObject({ backlog: 0, deliveredTotal: 10, deadLetters: 0 });
      expect((await store.stats()).find((s) => s.sink === 'rest')!.backlog).toBe(10);
    });

    it('backs off exponentially, dead-letters after maxAttempts, and replays', async () => {
      await store.ingest([{ reading: fakeReading(1) }, { reading: fakeReading(2) }]);
      let now = Date.now();
      let rows = await store.claim('webhook', 'o1', 10, 1000, now);
      await store.fail(
        'webhook',
        'o1',
        [
          { outboxId: rows[0]!.id, error: 'HTTP 503' },
          { outboxId: rows[1]!.id, error: 'HTTP 400', permanent: true },
        ],
        POLICY,
        now,
      );
      let dead = await store.listDeadLetters({ sink: 'webhook' });
      expect(dead.map((d) => d.lastError)).toEqual(['HTTP 400']);
      expect(dead[0]!.meterId).toBe(fakeReading(2).meterId);
      // Not due before the backoff (≥ baseMs/2) has passed.
      expect(await store.claim('webhook', 'o2', 10, 1000, now + 400)).toHaveLength(0);
      for (let attempt = 2; attempt <= POLICY.maxAttempts; attempt++) {
        now += 120_000;
        rows = await store.claim('webhook', `o${attempt}`, 10, 1000, now);
        expect(rows.map((r) => r.attempts)).toEqual([attempt - 1]);
        await store.fail('webhook', `o${attempt}`, [{ outboxId: rows[0]!.id, error: 'HTTP 503' }], POLICY, now);
      }
      dead = await store.listDeadLetters({ sink: 'webhook' });
      expect(dead).toHaveLength(2);
      expect((await store.stats(now)).find((s) => s.sink === 'webhook')).toMatchObject({ backlog: 0, deadLetters: 2 });
      expect(await store.replayDeadLetters('webhook', [dead[0]!.id])).toBe(1);
      expect(await store.replayDeadLetters('webhook')).toBe(1);
      rows = await store.claim('webhook', 'after', 10, 1000, now);
      expect(rows.map((r) => r.attempts)).toEqual([0, 0]);
    });

    it('keeps the REST feed in order under concurrent appends and pages by cursor', async () => {
      const res = await store.ingest(Array.from({ length: 60 }, (_, i) => ({ reading: fakeReading(i) })));
      const ids = res.inserted.map((x) => x.id);
      await Promise.all([0, 1, 2, 3, 4, 5].map((k) => store.appendFeed(ids.slice(k * 10, k * 10 + 10))));
      await store.appendFeed(ids.slice(0, 5)); // a repeated delivery is a no-op
      const seen: string[] = [];
      let cursor = '0';
      let last = 0;
      for (;;) {
        const page = await store.feedPage(cursor, 7);
        if (!page.items.length) break;
        for (const item of page.items) {
          expect(Number(item.cursor)).toBeGreaterThan(last);
          last = Number(item.cursor);
          seen.push(item.reading.id);
        }
        cursor = page.nextCursor;
      }
      expect(seen.sort()).toEqual([...ids].sort());
      await store.recordConsumerCursor({ consumer: 'tok-1', tokenId: 'tok-1', tokenName: 'billing' }, cursor);
      const s = (await store.stats()).find((x) => x.sink === 'rest')!;
      expect(s.consumerBacklog).toBe(0);
    });

    it('pipeline: concurrent submitters, flaky sink — every reading delivered, billing sees each id once', async () => {
      const delivered = new Map<string, number>();
      let calls = 0;
      const flaky: BillingSink = {
        name: 'webhook',
        batchSize: 25,
        async deliver(rs: StoredReading[]): Promise<DeliveryResult[]> {
          return rs.map((r) => {
            calls++;
            if (calls % 3 === 0) return { ok: false, error: 'flaky' };
            delivered.set(r.id, (delivered.get(r.id) ?? 0) + 1);
            return { ok: true };
          });
        },
      };
      const pipeline = createReadingPipeline({
        database: h,
        sinks: [flaky],
        dispatcher: { pollMs: 10, retry: { baseMs: 5, maxMs: 20, maxAttempts: 50 } },
      });
      await pipeline.start();
      const N = 300;
      const submits = Array.from({ length: 30 }, (_, k) =>
        pipeline.submit(Array.from({ length: 10 }, (_, j) => fakeReading(k * 10 + j)).concat(fakeReading(k * 10))),
      );
      const results = await Promise.all(submits);
      expect(results.reduce((n, r) => n + r.inserted.length, 0)).toBe(N);
      expect(results.reduce((n, r) => n + r.duplicates.length, 0)).toBe(30);
      expect(await pipeline.drained(20_000)).toBe(true);
      await pipeline.close();
      expect(delivered.size).toBe(N);
      expect([...delivered.values()].every((n) => n === 1)).toBe(true);
      const stats = await pipeline.stats();
      expect(stats.find((s) => s.sink === 'webhook')).toMatchObject({ backlog: 0, deadLetters: 0, deliveredTotal: N });
      expect(stats.find((s) => s.sink === 'rest')).toMatchObject({ backlog: 0, deliveredTotal: N });
    });
  });
}
