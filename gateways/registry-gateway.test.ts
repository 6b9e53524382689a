/**
 * A gateway with `"registry": {…}` on a real pseudo-terminal bus (socat) with the bus simulator, on SQLite and
 * PostgreSQL. The bus carries registered active meters, a suspended and a retired one, and meters the registry does
 * not know: the gateway asks only the active registered ones, in busPosition order (the simulator's per-address
 * request log says who was asked). A meter imported later joins on reload(); a meter retired by an --update import
 * leaves on reload() and is asked no more.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../core/ledger/testing/databases.ts';
import { importMeters } from '../core/meters/meter-import.ts';
import { createPluginHost } from '../core/plugins/plugin-host.ts';
import type { PluginHost } from '../core/plugins/plugin-types.ts';
import { bundledPluginProfiles } from '../core/plugins/plugin-profiles.ts';
import { BusSimulator } from './sim/bus-simulator.ts';
import { openPtyPair, type PtyPair } from './sim/pty.ts';
import { createGateway, validateGatewayConfig, type Gateway } from './gateway.ts';
import { waitUntil, workBudgetMs } from '../core/testing/work-budget.ts';

const BAUD = 9600;
const A1 = '31000000000001'; // active, position 2
const A2 = '31000000000002'; // active, position 1
const SUSPENDED = '31000000000003';
const RETIRED = '31000000000004';
const UNKNOWN = '31000000000005'; // on the bus, never registered
const LATER = '31000000000006'; // on the bus, registered after start
const OTHER_BUS = '31000000000007'; // registered on another bus path, also wired to this one
const COLLECTOR = '39000000000001';
const BEHIND = '32000000000001'; // read by the collector, registered
const BEHIND_UNKNOWN = '32000000000002'; // read by the collector, not registered

const HEADER = 'address,maker,profile,transport,busPath,busPosition,state';
/**
 * A hang guard only (a few bus sweeps over pseudo-terminals at the configured interval, and a registry reload);
 * the test asserts on counts.
 */
const BUDGET = workBudgetMs({ extraMs: 15_000 });

describe('gateway config: registry option', () => {
  it('is checked: object with integer periods ≥ 1 s, and never beside serial[].meters / collectors', () => {
    const base = { gatewayId: 'g', profile: 'chint' };
    expect(validateGatewayConfig({ ...base, registry: { reloadMs: 60_000 } })).toMatchObject({ registry: {} });
    for (const registry of [[], 'yes', { reloadMs: 10 }, { reloadMs: 1.5e3 + 0.5 }, { every: 1000 }]) {
      expect(() => validateGatewayConfig({ ...base, registry }), JSON.stringify(registry)).toThrow(
        /GATEWAY_CONFIG_INVALID|registry/,
      );
    }
    expect(() =>
      validateGatewayConfig({ ...base, registry: {}, serial: [{ path: '/dev/ttyUSB0', meters: [A1] }] }),
    ).toThrow(/remove serial\[\]\.meters/);
    // Without the option the JSON lists work as before.
    expect(validateGatewayConfig({ ...base, serial: [{ path: '/dev/ttyUSB0', meters: [A1] }] })).not.toHaveProperty(
      'registry',
    );
  });
});

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`gateway polls the meter registry over a pty (${kind})`, () => {
    let pty: PtyPair;
    let sim: BusSimulator;
    let t: TestDatabase;
    let host: PluginHost;
    let gw: Gateway;
    const profiles = bundledPluginProfiles();
    const actor = { name: 'ops-t', role: 'ops', channel: 'cli' };
    const importCsv = (lines: string[], update = false) =>
      importMeters({ database: t.database, host, profiles, actor, text: [HEADER, ...lines].join('\n'), update });
    const asked = (a: string) => sim.counters.perMeter.get(a) ?? 0;
    const readings = async (a: string) =>
      (await t.database.db.selectFrom('readings').select('id').where('meter_id', '=', a).execute()).length;

    beforeAll(async () => {
      pty = await openPtyPair();
      sim = new BusSimulator({
        path: pty.simPath,
        baudRate: BAUD,
        profile: 'chint',
        meters: [A1, A2, SUSPENDED, RETIRED, UNKNOWN, LATER, OTHER_BUS].map((address) => ({ address })),
        collector: { address: COLLECTOR, meters: [BEHIND, BEHIND_UNKNOWN], recordsPerMeter: 2 },
      });
      await sim.open();
      t = await openTestDatabase(kind);
      host = await createPluginHost({ bundledDir: null, pluginPaths: [], ignoreEnv: true, dataDir: t.dir });
      const bus = pty.gatewayPath;
      const r = await importCsv([
        `${A1},chint,chint,serial,${bus},2,active`,
        `${A2},chint,chint,serial,${bus},1,active`,
        `${SUSPENDED},chint,chint,serial,${bus},3,suspended`,
        `${RETIRED},chint,chint,serial,${bus},4,retired`,
        `${OTHER_BUS},chint,chint,serial,/dev/ttyUSB9,1,active`,
      ]);
      expect(r).toMatchObject({ inserted: 5, invalid: 0 });
      const c = await importMeters({
        database: t.database,
        host,
        profiles,
        actor,
        text: `address,maker,profile,transport,busPath,collectorAddress\n${BEHIND},chint,chint,collector,${bus},${COLLECTOR}`,
      });
      expect(c).toMatchObject({ inserted: 1, invalid: 0 });
      gw = createGateway(
        {
          gatewayId: `reg-${kind}`,
          profile: 'chint',
          registry: { reloadMs: 3_600_000 },
          serial: [{ path: bus, baudRate: BAUD, intervalMs: 200, stagger: false }],
        },
        { profiles, database: t.database },
      );
      await gw.start();
    });

    afterAll(async () => {
      await gw?.stop(); // closes the database too
      await sim?.close();
      await pty?.close();
      await host?.close();
      await t?.cleanup();
    });

    it('asks only the active registered meters on its bus, in position order', async () => {
      const master = gw.buses[0]!.master;
      expect(master.stats().map((m) => m.address)).toEqual([A2, A1]);
      await waitUntil(
        async () => (await readings(A1)) > 0 && (await readings(A2)) > 0,
        'readings from both active meters',
        BUDGET,
      );
      await waitUntil(() => master.cyclesDone >= 3, 'three sweeps', BUDGET);
      expect(asked(A1)).toBeGreaterThan(0);
      expect(asked(A2)).toBeGreaterThan(0);
      for (const a of [SUSPENDED, RETIRED, UNKNOWN, LATER, OTHER_BUS]) expect(asked(a), a).toBe(0);
      expect(await readings(UNKNOWN)).toBe(0);
      // The collector is asked by address for its registered meter only (a bulk upload would bring both).
      await waitUntil(async () => (await readings(BEHIND)) > 0, 'a reading from the collector meter', BUDGET);
      expect(await readings(BEHIND_UNKNOWN)).toBe(0);
      expect(gw.buses[0]!.collectors).toHaveLength(1);
    });

    it('a meter imported later joins on reload; a retired one leaves; the unknown one is never asked', async () => {
      const bus = pty.gatewayPath;
      expect(await importCsv([`${LATER},chint,chint,serial,${bus},0,active`])).toMatchObject({ inserted: 1 });
      // Not before the reload: the registry is read at start and on reload only.
      const master = gw.buses[0]!.master;
      const c0 = master.cyclesDone;
      await waitUntil(() => master.cyclesDone >= c0 + 2, 'two more sweeps', BUDGET);
      expect(asked(LATER)).toBe(0);

      const loaded = await gw.reload();
      expect(loaded.buses).toEqual([{ bus, meters: [LATER, A2, A1], collectors: { [COLLECTOR]: [BEHIND] } }]);
      await waitUntil(async () => (await readings(LATER)) > 0, 'a reading from the new meter', BUDGET);
      expect(master.stats().map((m) => m.address)).toEqual([LATER, A2, A1]);

      const retire = await importCsv([`${A1},chint,chint,serial,${bus},2,retired`], true);
      expect(retire).toMatchObject({ updated: 1 });
      await gw.reload();
      expect(master.stats().map((m) => m.address)).toEqual([LATER, A2]);
      // A sweep already under way finishes its own list; from the next full sweep on A1 is not asked.
      const c1 = master.cyclesDone;
      await waitUntil(() => master.cyclesDone >= c1 + 2, 'the sweep after the reload', BUDGET);
      const a1 = asked(A1);
      const later = asked(LATER);
      await waitUntil(() => master.cyclesDone >= c1 + 5, 'three more sweeps', BUDGET);
      expect(asked(A1)).toBe(a1);
      expect(asked(LATER)).toBeGreaterThan(later);
      for (const a of [SUSPENDED, RETIRED, UNKNOWN, OTHER_BUS]) expect(asked(a), a).toBe(0);
    });
  });
}

describe('gateway registry reload on its timer (sqlite)', () => {
  it('a meter imported while the gateway runs is asked after the next timed reload, without reload()', async () => {
    const pty = await openPtyPair();
    const sim = new BusSimulator({ path: pty.simPath, baudRate: BAUD, profile: 'chint', meters: [{ address: A1 }] });
    await sim.open();
    const t = await openTestDatabase('sqlite');
    const host = await createPluginHost({ bundledDir: null, pluginPaths: [], ignoreEnv: true, dataDir: t.dir });
    const profiles = bundledPluginProfiles();
    const gw = createGateway(
      {
        gatewayId: 'reg-timer',
        profile: 'chint',
        registry: { reloadMs: 1000 },
        serial: [{ path: pty.gatewayPath, baudRate: BAUD, intervalMs: 200, stagger: false }],
      },
      { profiles, database: t.database },
    );
    try {
      await gw.start();
      const master = gw.buses[0]!.master;
      expect(master.stats()).toEqual([]);
      const text = `${HEADER}\n${A1},chint,chint,serial,${pty.gatewayPath},1,active`;
      const actor = { name: 'ops-t', role: 'ops', channel: 'cli' };
      expect(await importMeters({ database: t.database, host, profiles, actor, text })).toMatchObject({ inserted: 1 });
      await waitUntil(() => master.stats().length === 1, 'the timed reload to add the meter', BUDGET);
      await waitUntil(() => (sim.counters.perMeter.get(A1) ?? 0) > 0, 'the meter to be asked', BUDGET);
    } finally {
      await gw.stop();
      await sim.close();
      await pty.close();
      await host.close();
      await t.cleanup();
    }
  });
});
