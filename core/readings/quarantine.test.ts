/**
 * The quarantine in the reading pipeline, on real SQLite and real PostgreSQL: with a meter directory, readings of
 * unknown addresses are held (not stored, not sent to billing) in the batch's own transaction; redeliveries add no
 * row; ops assign (stored once, billing gets it once, with its original meter time) or dismiss. The directory is
 * MemoryDirectory, an in-memory simulator of the MeterDirectory interface (the real one is the meter registry).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MeterHubDatabase } from '../db/database.ts';
import { POSTGRES_URL, serviceAvailable } from '../testing/services.ts';
import { QuarantineStateConflict, QuarantineTargetUnknown } from './errors.ts';
import { createReadingPipeline, type ReadingPipeline } from './pipeline.ts';
import { dedupeKey, readingId } from './reading-id.ts';
import type { BillingSink, DeliveryResult } from './sink-types.ts';
import { fakeReading, tempPostgres, tempSqlite, type TempDatabase } from './testing/fixtures.ts';
import { MemoryDirectory } from './testing/memory-directory.ts';

const KNOWN = fakeReading(1).meterId;
const UNKNOWN = '77000000000099';
const OTHER_KNOWN = fakeReading(2).meterId;

/** A billing sink that records every delivery: how many times billing saw each reading id. */
function recordingSink(): BillingSink & {
  seen: Map<string, { meterId: string; meterTime: string | null; n: number }>;
} {
  const seen = new Map<string, { meterId: string; meterTime: string | null; n: number }>();
  return {
    name: 'billing',
    seen,
    async deliver(batch): Promise<DeliveryResult[]> {
      return batch.map((reading) => {
        const prev = seen.get(reading.id);
        seen.set(reading.id, { meterId: reading.meterId, meterTime: reading.meterTime, n: (prev?.n ?? 0) + 1 });
        return { ok: true };
      });
    },
  };
}

const backends: Array<[string, () => Promise<TempDatabase | null>]> = [
  ['SQLite', async () => tempSqlite()],
  ['PostgreSQL', async () => ((await serviceAvailable('postgres')) ? tempPostgres(POSTGRES_URL) : null)],
];

describe.each(backends)('reading quarantine: %s', (_name, makeDb) => {
  let temp: TempDatabase | null;
  let h: MeterHubDatabase;
  let directory: MemoryDirectory;
  let sink: ReturnType<typeof recordingSink>;
  let pipeline: ReadingPipeline;

  beforeEach(async (ctx) => {
    temp = await makeDb();
    if (!temp) {
      ctx.skip();
      return;
    }
    h = temp.open();
    directory = new MemoryDirectory([KNOWN, OTHER_KNOWN]);
    sink = recordingSink();
    pipeline = createReadingPipeline({ database: h, sinks: [sink], directory, dispatcher: { pollMs: 10 } });
    await pipeline.start();
  });

  afterEach(async () => {
    if (!temp) return;
    await pipeline.close();
    await h.close();
    await temp.drop();
  });

  const unknownReading = (i: number) => fakeReading(i, { meterId: UNKNOWN });
  const rows = (table: string) => h.db.selectFrom(table).selectAll().execute();

  it('a mixed batch: the known reading is stored and sent to billing, the unknown one is held, not billed', async () => {
    const bad = fakeReading(3, { cumulative: '1e5' });
    const unknown = unknownReading(10);
    const res = await pipeline.submit([
      { reading: unknown, origin: 'mqtt:dev9' },
      { reading: fakeReading(1) },
      { reading: bad },
    ]);
    const heldId = readingId(dedupeKey(unknownReading(10)));
    expect(res.quarantined).toEqual([heldId]);
    expect(res.inserted.map((x) => x.id)).toEqual([readingId(dedupeKey(fakeReading(1)))]);
    // Indexes and ids in the caller's input order, whatever the split.
    expect(res.rejected).toEqual([{ index: 2, reason: 'cumulative' }]);
    expect(res.itemIds).toEqual([null, readingId(dedupeKey(fakeReading(1))), null]);
    expect((await rows('readings')).map((r) => r.meter_id)).toEqual([KNOWN]);
    const q = await rows('reading_quarantine');
    expect(q).toHaveLength(1);
    expect(q[0]).toMatchObject({ id: heldId, meter_id: UNKNOWN, state: 'held', origin: 'mqtt:dev9' });
    expect(JSON.parse(q[0]!.reading)).toEqual(unknown);
    expect(await pipeline.drained(20_000)).toBe(true);
    expect([...sink.seen.values()].map((s) => s.meterId)).toEqual([KNOWN]);
    const feed = await pipeline.store.feedPage('0', 100);
    expect(feed.items.map((i) => i.reading.meterId)).toEqual([KNOWN]);
    expect(pipeline.counters).toMatchObject({ submitted: 3, inserted: 1, quarantined: 1, rejected: 1 });
  });

  it('known and held readings commit in one transaction: a failing hook of the batch leaves neither', async () => {
    await expect(
      pipeline.submit(
        [{ reading: fakeReading(1) }, { reading: unknownReading(11) }],
        [
          async () => {
            throw new Error('boom');
          },
        ],
      ),
    ).rejects.toThrow('boom');
    expect(await rows('readings')).toHaveLength(0);
    expect(await rows('reading_quarantine')).toHaveLength(0);
    expect(await rows('reading_outbox')).toHaveLength(0);
  });

  it('a redelivery of a held reading makes no second row and counts as a duplicate', async () => {
    const first = await pipeline.submit([unknownReading(12), unknownReading(13)]);
    expect(first.quarantined).toHaveLength(2);
    const again = await pipeline.submit([unknownReading(12), unknownReading(12), fakeReading(1)]);
    expect(again.quarantined).toEqual([]);
    expect(again.duplicates).toEqual([
      readingId(dedupeKey(unknownReading(12))),
      readingId(dedupeKey(unknownReading(12))),
    ]);
    expect(await rows('reading_quarantine')).toHaveLength(2);
    expect(pipeline.counters.quarantined).toBe(2);
  });

  it('assign: stored as a reading of the registered meter with its meter time, billed once; again stores nothing', async () => {
    const held = unknownReading(14);
    await pipeline.submit([held]);
    const id = readingId(dedupeKey(held));
    const a = await pipeline.assignQuarantined(id, OTHER_KNOWN, 'ops-t (ops)');
    const stored = readingId(dedupeKey({ ...held, meterId: OTHER_KNOWN }));
    expect(a).toEqual({ id, state: 'assigned', assignedTo: OTHER_KNOWN, readingId: stored, stored: true });
    const again = await pipeline.assignQuarantined(id, OTHER_KNOWN, 'ops-t (ops)');
    expect(again).toEqual({ ...a, stored: false });
    const r = await rows('readings');
    expect(r.map((x) => [x.id, x.meter_id, x.meter_time])).toEqual([[stored, OTHER_KNOWN, held.meterTime]]);
    expect(await pipeline.drained(20_000)).toBe(true);
    expect(sink.seen.get(stored)).toEqual({ meterId: OTHER_KNOWN, meterTime: held.meterTime, n: 1 });
    const feed = await pipeline.store.feedPage('0', 100);
    expect(feed.items.map((i) => i.reading.id)).toEqual([stored]);
    const row = await pipeline.quarantine.get(id);
    expect(row).toMatchObject({
      state: 'assigned',
      assignedTo: OTHER_KNOWN,
      actedBy: 'ops-t (ops)',
      assignedReadingId: stored,
    });
    expect(pipeline.counters.assigned).toBe(1);
    // Settled: another meter, or a dismiss, is refused with a stable code.
    await expect(pipeline.assignQuarantined(id, KNOWN, 'x')).rejects.toSatisfy(QuarantineStateConflict.is);
    await expect(pipeline.quarantine.dismiss(id, 'x', 'x')).rejects.toSatisfy(QuarantineStateConflict.is);
  });

  it('two assigns of one reading at once (two ops, two servers): stored and billed once', async () => {
    const held = unknownReading(17);
    await pipeline.submit([held]);
    const id = readingId(dedupeKey(held));
    // A second server: the same sinks (so the same outbox rows), never started; the first one's dispatchers deliver.
    const other = createReadingPipeline({ database: h, sinks: [recordingSink()], directory });
    const results = await Promise.all([
      pipeline.assignQuarantined(id, OTHER_KNOWN, 'ops-a'),
      other.assignQuarantined(id, OTHER_KNOWN, 'ops-b'),
    ]);
    await other.close();
    expect(results.map((r) => r.stored).sort()).toEqual([false, true]);
    expect(await pipeline.store.count()).toBe(1);
    expect(await pipeline.drained(20_000)).toBe(true);
    expect([...sink.seen.values()].map((s) => s.n)).toEqual([1]);
  });

  it('assign to an address the directory does not know is refused and changes nothing', async () => {
    const held = unknownReading(15);
    await pipeline.submit([held]);
    const id = readingId(dedupeKey(held));
    const err = await pipeline.assignQuarantined(id, '12345678901234', 'ops').catch((e: unknown) => e);
    expect(QuarantineTargetUnknown.is(err)).toBe(true);
    expect((await pipeline.quarantine.get(id))?.state).toBe('held');
    expect(await rows('readings')).toHaveLength(0);
  });

  it('dismiss with a reason; dismissing again is a no-op; a dismissed reading is never stored', async () => {
    const held = unknownReading(16);
    await pipeline.submit([held]);
    const id = readingId(dedupeKey(held));
    const d = await pipeline.quarantine.dismiss(id, 'test bench meter', 'ops-t (ops)');
    expect(d).toMatchObject({ state: 'dismissed', note: 'test bench meter', actedBy: 'ops-t (ops)' });
    expect((await pipeline.quarantine.dismiss(id, 'again', 'ops2')).note).toBe('test bench meter');
    await expect(pipeline.assignQuarantined(id, KNOWN, 'ops')).rejects.toSatisfy(QuarantineStateConflict.is);
    expect(await rows('readings')).toHaveLength(0);
  });

  it('assign by address: every held reading of it, in chunks, each stored and billed once; lists and groups', async () => {
    const N = 450;
    await pipeline.submit(Array.from({ length: N }, (_, i) => unknownReading(100 + i)));
    await pipeline.submit([fakeReading(500, { meterId: '77000000000055' })]);
    const groups = await pipeline.quarantine.groups();
    expect(groups.map((g) => [g.address, g.count])).toEqual([
      ['77000000000055', 1],
      [UNKNOWN, N],
    ]);
    const page1 = await pipeline.quarantine.list({ address: UNKNOWN, limit: 400 });
    expect(page1.items).toHaveLength(400);
    const page2 = await pipeline.quarantine.list({ address: UNKNOWN, limit: 400, afterSeq: Number(page1.nextAfter) });
    expect(page2.items).toHaveLength(50);
    expect(page2.nextAfter).toBeNull();
    // One assigned by id first: the bulk assign skips it (never stores it twice).
    await pipeline.assignQuarantined(page1.items[0]!.id, OTHER_KNOWN, 'ops');
    const bulk = await pipeline.assignQuarantinedAddress(UNKNOWN, OTHER_KNOWN, 'ops');
    expect(bulk).toEqual({ from: UNKNOWN, to: OTHER_KNOWN, assigned: N - 1, stored: N - 1 });
    expect(await pipeline.assignQuarantinedAddress(UNKNOWN, OTHER_KNOWN, 'ops')).toMatchObject({ assigned: 0 });
    expect(await pipeline.store.count()).toBe(N);
    expect(await pipeline.quarantine.count('held')).toBe(1);
    expect(await pipeline.drained(30_000)).toBe(true);
    expect(sink.seen.size).toBe(N);
    expect([...sink.seen.values()].every((s) => s.n === 1 && s.meterId === OTHER_KNOWN)).toBe(true);
    expect((await pipeline.quarantine.groups('assigned')).map((g) => [g.address, g.count])).toEqual([[UNKNOWN, N]]);
  });

  it('without a directory the pipeline stores every reading, as before', async () => {
    const plain = createReadingPipeline({ database: h, restFeed: false });
    const res = await plain.submit([unknownReading(20), fakeReading(1)]);
    expect(res.inserted).toHaveLength(2);
    expect(res.quarantined).toBeUndefined();
    expect(await rows('reading_quarantine')).toHaveLength(0);
    await plain.close();
  });
});
