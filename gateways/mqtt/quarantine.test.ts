/**
 * Readings of unknown meters over MQTT, through a real broker (issue 16): a gateway with a meter directory holds an
 * unknown meter's reading in quarantine (not in readings, not in the billing feed) and stores a known one; a
 * concentrator message carrying both is acknowledged once both are committed; a redelivered reading makes no second
 * quarantine row; once ops assign it, the billing feed carries it exactly once. On SQLite and PostgreSQL.
 * The directory is MemoryDirectory, an in-memory simulator of the MeterDirectory interface (the real one is the
 * meter registry, core/meters).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { dedupeKey, readingId } from '../../core/readings/reading-id.ts';
import { tempPostgres, tempSqlite, type TempDatabase } from '../../core/readings/testing/fixtures.ts';
import { MemoryDirectory } from '../../core/readings/testing/memory-directory.ts';
import { POSTGRES_URL, serviceAvailable } from '../../core/testing/services.ts';
import { buildReadReply, DI, ProfileRegistry, toHex } from '../../core/telemetry/index.ts';
import { createGateway, type Gateway } from '../gateway.ts';
import { MqttSimulator, simClock } from '../sim/mqtt-simulator.ts';
import { PrivateMosquitto } from '../testing/mosquitto.ts';
import { waitUntil } from '../../core/testing/work-budget.ts';

const KNOWN = '78330011220001';
const UNKNOWN = '78330011229999';
const PROFILE = 'cjt188-company';
const START = Date.UTC(2025, 0, 1);

const backends: Array<[string, () => Promise<TempDatabase | null>]> = [
  ['SQLite', async () => tempSqlite()],
  ['PostgreSQL', async () => ((await serviceAvailable('postgres')) ? tempPostgres(POSTGRES_URL) : null)],
];

describe.each(backends)('MQTT uplinks from unknown meters: %s', async (name, makeDb) => {
  const available = await serviceAvailable('mosquitto');
  let broker: PrivateMosquitto;
  beforeAll(async () => {
    if (available) broker = await PrivateMosquitto.start({ persistence: false });
  });
  afterAll(async () => {
    await broker?.destroy();
  });

  it(
    'unknown → quarantine, known → readings and billing, acknowledged after the commit, no second row on redelivery; assign bills once',
    {
      timeout: 120_000,
    },
    async (ctx) => {
      const temp = available ? await makeDb() : null;
      if (!temp) {
        ctx.skip();
        return;
      }
      const directory = new MemoryDirectory([KNOWN]);
      const gatewayId = `quarantine-${name.toLowerCase()}`;
      let gw: Gateway | undefined;
      let sim: MqttSimulator | undefined;
      try {
        gw = createGateway(
          { gatewayId, profile: PROFILE, mqtt: { url: broker.url }, dispatcher: { pollMs: 20 } },
          { profiles: new ProfileRegistry(), database: temp.open(), directory },
        );
        await gw.start();
        const g = gw;
        const db = g.database.db;
        // One concentrator message carrying both meters' readings.
        sim = new MqttSimulator({
          url: broker.url,
          profile: PROFILE,
          concentrators: [{ id: 'conc1', meters: [KNOWN, UNKNOWN] }],
          startTime: START,
        });
        await sim.connect();
        await sim.run(1);
        // `readings` counts after submit() resolved, i.e. after the commit that holds both (the ack follows it).
        await waitUntil(() => (g.mqtt?.counters.readings ?? 0) >= 2, 'the uplink commit');
        expect(g.mqtt!.counters).toMatchObject({ uplinks: 1, readings: 2, commitFailures: 0, ackSkipped: 0 });

        const heldId = readingId(dedupeKey({ meterId: UNKNOWN, meterTime: simClock(START), rawFrame: '' }));
        const knownId = readingId(dedupeKey({ meterId: KNOWN, meterTime: simClock(START), rawFrame: '' }));
        expect((await db.selectFrom('readings').select(['id', 'meter_id']).execute()).map((r) => r.id)).toEqual([
          knownId,
        ]);
        const held = await db.selectFrom('reading_quarantine').selectAll().execute();
        expect(held.map((r) => [r.id, r.meter_id, r.state, r.origin])).toEqual([
          [heldId, UNKNOWN, 'held', 'mqtt:conc1'],
        ]);
        expect(g.pipeline.counters).toMatchObject({ inserted: 1, quarantined: 1 });
        const feed = await g.pipeline.store.feedPage('0', 100);
        await waitUntil(async () => (await g.pipeline.store.feedPage('0', 100)).items.length === 1, 'the feed');
        expect((await g.pipeline.store.feedPage('0', 100)).items.map((i) => i.reading.meterId)).toEqual([KNOWN]);
        expect(feed.items.every((i) => i.reading.meterId !== UNKNOWN)).toBe(true);

        // The same reading again (a broker redelivery, or the meter repeating itself): acknowledged, no second row.
        const again = buildReadReply(
          UNKNOWN,
          DI.CURRENT,
          0,
          { cumulative: '100.00', settlement: '100.00', meterTime: simClock(START), status: { valve: 'open' } },
          PROFILE,
        );
        const pub = await mqtt.connectAsync(broker.url, { clientId: `${gatewayId}-pub`, protocolVersion: 5 });
        await pub.publishAsync(g.mqtt!.topics.up('conc1'), JSON.stringify({ v: 1, frames: [toHex(again)] }), {
          qos: 1,
        });
        await pub.endAsync();
        await waitUntil(() => (g.mqtt?.counters.readings ?? 0) >= 3, 'the second commit');
        expect(await db.selectFrom('reading_quarantine').selectAll().execute()).toHaveLength(1);
        expect(g.pipeline.counters).toMatchObject({ quarantined: 1, duplicates: 1 });

        // Ops register the meter under its right address and assign: billing's feed gets it once, at its meter time.
        directory.register(UNKNOWN);
        const a = await g.pipeline.assignQuarantined(heldId, UNKNOWN, 'ops-t (ops)');
        expect(a).toMatchObject({ stored: true, readingId: heldId });
        expect((await g.pipeline.assignQuarantined(heldId, UNKNOWN, 'ops-t (ops)')).stored).toBe(false);
        await waitUntil(
          async () => (await g.pipeline.store.feedPage('0', 100)).items.length === 2,
          'the assigned reading',
        );
        const items = (await g.pipeline.store.feedPage('0', 100)).items;
        expect(items.map((i) => [i.reading.meterId, i.reading.meterTime])).toEqual([
          [KNOWN, simClock(START)],
          [UNKNOWN, simClock(START)],
        ]);
      } finally {
        await sim?.close();
        await gw?.stop();
        await temp.drop();
      }
    },
  );
});
