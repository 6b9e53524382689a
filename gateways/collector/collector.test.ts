/**
 * Collector (抄表器) upload over a real pty: an interrupted upload leaves nothing deleted that the gateway
 * has not stored, and nothing duplicated — whether the line dies, the gateway dies between commit and
 * acknowledgement, or the acknowledgement's reply is lost.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MeterHubDatabase } from '../../core/db/database.ts';
import { createReadingPipeline, type ReadingPipeline } from '../../core/readings/pipeline.ts';
import { dedupeKey, readingId } from '../../core/readings/reading-id.ts';
import { tempSqlite, type TempDatabase } from '../../core/readings/testing/fixtures.ts';
import { decodeFrame, frameToReading } from '../../core/telemetry/index.ts';
import { CollectorProtocol } from '../../core/readings/errors.ts';
import { BusSimulator } from '../sim/bus-simulator.ts';
import { openPtyPair, type PtyPair } from '../sim/pty.ts';
import { SerialLink } from '../serial/serial-link.ts';
import { BusArbiter } from '../serial/bus-arbiter.ts';
import { CollectorClient } from './collector-client.ts';
import { decodeRecords, encodeRecords } from './collector-protocol.ts';

const COLLECTOR = '99000000000001';
const METERS = Array.from({ length: 8 }, (_, i) => `3200${String(i + 1).padStart(10, '0')}`);
const PER_METER = 5; // 40 records
// The simulator shares this process (and 2 cores with other test files): allow more host latency than a
// USB adapter's 16 ms, as one would for a slow serial server.
const TEST_TIMING = { adapterLatencyMs: 80 };

describe('collector (抄表器) exchange', () => {
  let pty: PtyPair;
  let sim: BusSimulator;
  let link: SerialLink;
  let temp: TempDatabase;
  let db: MeterHubDatabase;
  let pipeline: ReadingPipeline;
  let allIds: Map<number, string>;

  const client = (extra: Partial<ConstructorParameters<typeof CollectorClient>[0]> = {}) =>
    new CollectorClient({
      link,
      arbiter: new BusArbiter(),
      database: db,
      pipeline,
      address: COLLECTOR,
      blockRecords: 6,
      commitEveryBlocks: 2,
      retries: 1,
      timing: TEST_TIMING,
      ...extra,
    });

  const storedIds = async () =>
    new Set((await db.db.selectFrom('readings').select('id').execute()).map((r) => r.id as string));
  const heldSeqs = () => new Set(sim.collectorRecords.map((r) => r.seq));

  /** The invariant at any point: every record gone from the collector is in the store. */
  async function assertNothingLost(): Promise<void> {
    const stored = await storedIds();
    const held = heldSeqs();
    for (const [seq, id] of allIds)
      if (!held.has(seq)) expect(stored.has(id), `record ${seq} deleted but not stored`).toBe(true);
  }

  beforeEach(async () => {
    pty = await openPtyPair();
    sim = new BusSimulator({
      path: pty.simPath,
      baudRate: 9600,
      profile: 'chint',
      meters: [],
      collector: { address: COLLECTOR, meters: METERS, recordsPerMeter: PER_METER },
    });
    await sim.open();
    link = new SerialLink({ path: pty.gatewayPath, baudRate: 9600, profile: 'chint' });
    await link.open();
    temp = tempSqlite();
    db = temp.open();
    pipeline = createReadingPipeline({ database: db });
    await pipeline.start();
    allIds = new Map(
      sim.collectorRecords.map((r) => {
        const d = decodeFrame(r.frame, 'chint');
        if (!d.ok) throw new Error('sim record does not decode');
        const reading = frameToReading(d.frame, 'chint', { source: 'collector', raw: d.raw });
        return [r.seq, readingId(dedupeKey(reading))];
      }),
    );
  });

  afterEach(async () => {
    await link.close();
    await sim.close();
    await pty.close();
    await pipeline.close();
    await db.close();
    await temp.drop();
  });

  it('packs records into frames that the codec carries, and decodes them back', () => {
    const { payload, packed } = encodeRecords(sim.collectorRecords);
    expect(packed).toBe(6);
    expect(payload.length).toBeLessThanOrEqual(252);
    expect(decodeRecords(payload)!.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(decodeRecords(payload.subarray(0, payload.length - 1))).toBeNull();
  });

  it('uploads everything, acknowledging only after commit', async () => {
    const acksSeenAfterCommit: boolean[] = [];
    const c = client({
      beforeAck: async (upto) => {
        const stored = await storedIds();
        acksSeenAfterCommit.push([...allIds].filter(([seq]) => seq <= upto).every(([, id]) => stored.has(id)));
      },
    });
    const res = await c.uploadAll();
    expect(res).toMatchObject({ records: 40, stored: 40, duplicates: 0, quarantined: 0, acked: 40 });
    expect(acksSeenAfterCommit.length).toBeGreaterThan(1);
    expect(acksSeenAfterCommit.every(Boolean)).toBe(true);
    expect(sim.collectorRecords).toHaveLength(0);
    expect(await storedIds()).toEqual(new Set(allIds.values()));
  });

  it('line dies mid-upload: nothing deleted unstored; resume stores the rest once', async () => {
    sim.setCollectorBehaviour({ failAfterBlocks: 5 }); // answers 5 blocks (30 records), then goes silent
    const err = await client()
      .uploadAll()
      .catch((e) => e);
    expect(CollectorProtocol.is(err)).toBe(true);
    await assertNothingLost();
    expect(sim.collectorRecords.length).toBe(40 - 24); // two commits of 2 blocks each were acknowledged
    expect((await storedIds()).size).toBe(24);

    sim.setCollectorBehaviour({});
    const res = await client().uploadAll();
    expect(res.resumedAck).toBeNull();
    expect(res).toMatchObject({ records: 16, stored: 16, duplicates: 0 });
    expect(sim.collectorRecords).toHaveLength(0);
    expect(await storedIds()).toEqual(new Set(allIds.values()));
    expect(await pipeline.store.count()).toBe(40);
  });

  it('gateway dies between commit and acknowledgement: the next session acknowledges first, reads nothing twice', async () => {
    let calls = 0;
    const crashing = client({
      beforeAck: () => {
        if (++calls === 1) throw new Error('power cut');
      },
    });
    await expect(crashing.uploadAll()).rejects.toThrow('power cut');
    expect(sim.collectorRecords).toHaveLength(40); // nothing acknowledged, nothing deleted
    expect((await storedIds()).size).toBe(12);
    await assertNothingLost();

    const res = await client().uploadAll();
    expect(res.resumedAck).toBe(12);
    expect(res).toMatchObject({ records: 28, stored: 28, duplicates: 0 });
    expect(sim.collectorRecords).toHaveLength(0);
    expect(await pipeline.store.count()).toBe(40);
  });

  it('lost acknowledgement reply: the ack is repeated (idempotent), nothing duplicated', async () => {
    sim.setCollectorBehaviour({ dropAckReplies: true });
    const err = await client()
      .uploadAll()
      .catch((e) => e);
    expect(CollectorProtocol.is(err)).toBe(true);
    await assertNothingLost();
    expect(sim.collectorRecords).toHaveLength(28); // the collector applied the first ack (12)
    sim.setCollectorBehaviour({});
    const res = await client().uploadAll();
    expect(res.resumedAck).toBe(12);
    expect(res.duplicates).toBe(0);
    expect(sim.collectorRecords).toHaveLength(0);
    expect(await pipeline.store.count()).toBe(40);
  });

  it('by address list: latest record per meter, each deleted exactly after commit', async () => {
    const res = await client().readByAddresses([...METERS, '32009999999999']);
    expect(res).toMatchObject({ stored: 8, duplicates: 0, missing: ['32009999999999'] });
    expect(sim.collectorRecords).toHaveLength(32);
    await assertNothingLost();
    // The bulk upload afterwards stores the remaining 32 and nothing twice.
    const bulk = await client().uploadAll();
    expect(bulk.stored).toBe(32);
    expect(await pipeline.store.count()).toBe(40);
  });
});
