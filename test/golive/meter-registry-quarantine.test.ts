/**
 * Go-live for remote meters (issue 16), the registry and the quarantine together, on SQLite and PostgreSQL: meters
 * come in by a registry import; a gateway whose config reads the registry (`"registry": {}`) takes a concentrator's
 * MQTT uplink carrying a registered and an unregistered meter; the registered meter's reading is stored and billed,
 * the other is held in quarantine (the registry's own directory, not a stand-in). Ops then register the missing
 * meter by a second import and assign the held reading to it: the billing feed carries it once. The assignment must
 * not be refused because the directory remembered the address as unknown a moment before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../../core/ledger/testing/databases.ts';
import { importMeters } from '../../core/meters/meter-import.ts';
import { createPluginHost } from '../../core/plugins/plugin-host.ts';
import type { PluginHost } from '../../core/plugins/plugin-types.ts';
import { bundledPluginProfiles } from '../../core/plugins/plugin-profiles.ts';
import { serviceAvailable } from '../../core/testing/services.ts';
import { createGateway, type Gateway } from '../../gateways/gateway.ts';
import { MqttSimulator } from '../../gateways/sim/mqtt-simulator.ts';
import { PrivateMosquitto } from '../../gateways/testing/mosquitto.ts';
import { waitUntil, workBudgetMs } from '../../core/testing/work-budget.ts';

const REGISTERED = '78330011220001';
const MISSING = '78330011229999';
const HEADER = 'address,maker,profile,transport,mqttDeviceId,customerNo,state';
/** A hang guard only (an uplink commit, a feed page); the test asserts on counts. */
const BUDGET = workBudgetMs({ extraMs: 10_000 });

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`meter registry + quarantine through a real broker (${kind})`, () => {
    let broker: PrivateMosquitto | undefined;
    let t: TestDatabase | undefined;
    let host: PluginHost;
    let gw: Gateway | undefined;
    let sim: MqttSimulator | undefined;
    const profiles = bundledPluginProfiles();
    const actor = { name: 'ops-t', role: 'ops', channel: 'cli' };

    beforeAll(async () => {
      if (!(await serviceAvailable('mosquitto'))) return;
      if (kind === 'postgres' && !(await serviceAvailable('postgres'))) return;
      broker = await PrivateMosquitto.start({ persistence: false });
      t = await openTestDatabase(kind);
      host = await createPluginHost({ bundledDir: null, pluginPaths: [], ignoreEnv: true, dataDir: t.dir });
    }, 120_000);
    afterAll(async () => {
      await sim?.close();
      await gw?.stop();
      await t?.cleanup();
      await broker?.destroy();
    });

    it('stores the registered meter, holds the unregistered one, and bills it once after import + assign', async (ctx) => {
      if (!broker || !t) {
        ctx.skip();
        return;
      }
      const database = t.database;
      const first = await importMeters({
        database,
        host,
        profiles,
        actor,
        text: [HEADER, `${REGISTERED},chint,chint,mqtt,conc1,C-0001,active`].join('\n'),
      });
      expect(first).toMatchObject({ inserted: 1, invalid: 0 });

      gw = createGateway(
        {
          gatewayId: `regq-${kind}`,
          profile: 'chint',
          registry: {},
          mqtt: { url: broker.url },
          dispatcher: { pollMs: 20 },
        },
        { profiles, database },
      );
      expect(gw.directory, 'a registry gateway builds the registry directory').toBeDefined();
      await gw.start();
      const g = gw;
      const db = database.db;
      sim = new MqttSimulator({
        url: broker.url,
        profile: 'chint',
        concentrators: [{ id: 'conc1', meters: [REGISTERED, MISSING] }],
        startTime: Date.UTC(2025, 0, 1),
      });
      await sim.connect();
      await sim.run(1);
      await waitUntil(() => (g.mqtt?.counters.readings ?? 0) >= 2, 'the uplink commit', BUDGET);

      const stored = await db.selectFrom('readings').select('meter_id').execute();
      expect(stored.map((r) => r.meter_id)).toEqual([REGISTERED]);
      const held = await db.selectFrom('reading_quarantine').select(['id', 'meter_id', 'state']).execute();
      expect(held.map((r) => [r.meter_id, r.state])).toEqual([[MISSING, 'held']]);
      await waitUntil(async () => (await g.pipeline.store.feedPage('0', 100)).items.length === 1, 'the feed', BUDGET);

      // Ops register the missing meter (a second import) and assign its held reading to it.
      const second = await importMeters({
        database,
        host,
        profiles,
        actor,
        text: [HEADER, `${MISSING},chint,chint,mqtt,conc1,C-0002,active`].join('\n'),
      });
      expect(second).toMatchObject({ inserted: 1, invalid: 0 });
      const a = await g.pipeline.assignQuarantined(held[0]!.id, MISSING, 'ops-t (ops)');
      expect(a).toMatchObject({ stored: true });
      await waitUntil(
        async () => (await g.pipeline.store.feedPage('0', 100)).items.length === 2,
        'the assigned reading in the feed',
        BUDGET,
      );
      const items = (await g.pipeline.store.feedPage('0', 100)).items.map((i) => i.reading.meterId);
      expect(items).toEqual([REGISTERED, MISSING]);
      expect((await db.selectFrom('reading_quarantine').select('state').execute()).map((r) => r.state)).toEqual([
        'assigned',
      ]);

      // After a registry reload the meter is known at once: its next reading is stored, not held.
      await g.reload();
      await sim.run(1);
      await waitUntil(() => (g.mqtt?.counters.readings ?? 0) >= 4, 'the second uplink', BUDGET);
      expect(await db.selectFrom('reading_quarantine').select('id').execute()).toHaveLength(1);
      expect(
        (await db.selectFrom('readings').select('meter_id').where('meter_id', '=', MISSING).execute()).length,
      ).toBe(2);
    }, 180_000);
  });
}
