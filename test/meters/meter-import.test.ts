/**
 * The meter registry's import (go-live): the report names every bad row and why, a dry run writes nothing and
 * reports the same, a re-run changes nothing, a changed row is a conflict unless --update (before/after kept in the
 * batch), mapping files and JSON — on SQLite and PostgreSQL, with the real plugin host and profile registry.
 * Then the store's queries and the RegistryDirectory on what was imported.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../../core/ledger/testing/databases.ts';
import { RegistryDirectory } from '../../core/meters/directory.ts';
import { importMeters } from '../../core/meters/meter-import.ts';
import { MeterStore } from '../../core/meters/store.ts';
import { importReportLines } from '../../core/golive/import-report-text.ts';
import { createPluginHost } from '../../core/plugins/plugin-host.ts';
import type { PluginHost } from '../../core/plugins/plugin-types.ts';
import { ProfileRegistry } from '../../core/telemetry/profile-registry.ts';
import { BUNDLED_PLUGINS } from '../api/support.ts';
import { batchOf } from '../golive/import-support.ts';

const actor = { name: 'ops-cli', role: 'ops', channel: 'cli' };
const HEADER =
  'address,maker,profile,transport,busPath,busPosition,collectorAddress,dtuId,mqttDeviceId,customerNo,state';
const GOOD = [
  '31000000000003,chint,chint,serial,/dev/ttyUSB0,2,,,,C-3,active', // line 2
  '31000000000001,chint,chint,serial,/dev/ttyUSB0,1,,,,C-1,active',
  '31000000000002,chint,chint,serial,/dev/ttyUSB0,3,,,,C-2,suspended',
  '31000000000004,chint,chint,serial,/dev/ttyUSB1,1,,,,C-4,active',
  '32000000000001,kingcard,cjt188-company,collector,/dev/ttyUSB0,,39000000000001,,,C-5,active',
  '32000000000002,kingcard,cjt188-company,collector,/dev/ttyUSB0,,39000000000001,,,C-6,retired',
  '32000000000003,kingcard,cjt188-company,collector,/dev/ttyUSB0,,39000000000002,,,C-7,active',
  '33000000000001,zenner,le,dtu,,,,DTU-9,,C-8,active',
  '34000000000001,chint,chint,mqtt,,,,,dev-1,C-8,active', // line 10
];

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`meter registry import (${kind})`, () => {
    let t: TestDatabase;
    let host: PluginHost;
    let profiles: ProfileRegistry;
    beforeAll(async () => {
      t = await openTestDatabase(kind);
      profiles = new ProfileRegistry();
      host = await createPluginHost({
        bundledDir: BUNDLED_PLUGINS,
        pluginPaths: [],
        ignoreEnv: true,
        dataDir: t.dir,
        profiles,
      });
    });
    afterAll(async () => {
      await host?.close();
      await t?.cleanup();
    });
    const meters = () => t.database.db.selectFrom('meters').selectAll().orderBy('address').execute();
    const run = (text: string, o: { dryRun?: boolean; update?: boolean; mappingText?: string; chunk?: number } = {}) =>
      importMeters({ database: t.database, host, profiles, actor, text, fileName: 'meters.csv', ...o });

    it('names every bad row and why (zh + en); a dry run writes nothing and reports the same', async () => {
      const bad = [
        '3100000000000X,chint,chint,serial,/dev/ttyUSB0,9,,,,,active', // line 11
        'AAAAAAAAAAAAAA,chint,chint,serial,/dev/ttyUSB0,9,,,,,active', // broadcast is no meter
        '31000000000010,nosuch,chint,serial,/dev/ttyUSB0,9,,,,,active',
        '31000000000011,chint,nosuch,serial,/dev/ttyUSB0,9,,,,,active',
        '31000000000012,chint,chint,lora,,,,,,,active',
        '31000000000013,chint,chint,serial,/dev/ttyUSB0,,,,,,active', // no position
        '31000000000014,chint,chint,collector,/dev/ttyUSB0,,,,,,active', // no collector
        '31000000000015,chint,chint,dtu,,,,,,,active',
        '31000000000016,chint,chint,mqtt,,,,,,,active',
        '31000000000017,chint,chint,serial,/dev/ttyUSB0,first,,,,,active',
        '31000000000018,chint,chint,collector,/dev/ttyUSB0,,12,,,,active',
        '31000000000019,chint,chint,serial,/dev/ttyUSB0,9,,,,,stolen',
        '31000000000020,chint,chint,serial,/dev/ttyUSB0,9,,,,,active',
        '31000000000020,chint,chint,serial,/dev/ttyUSB0,10,,,,,active', // the same address twice
        ',chint,chint,serial,/dev/ttyUSB0,9,,,,,active',
      ];
      const text = [HEADER, ...GOOD, ...bad].join('\n');
      const dry = await run(text, { dryRun: true });
      expect(await meters()).toHaveLength(0);
      expect(await t.database.db.selectFrom('import_batches').selectAll().execute()).toHaveLength(0);
      expect(dry).toMatchObject({ kind: 'meters', batchId: null, rows: 24, valid: 9, inserted: 9, invalid: 15 });
      expect(dry.problems.map((p) => [p.line, p.code])).toEqual([
        [11, 'IMPORT_ADDRESS_INVALID'],
        [12, 'IMPORT_ADDRESS_INVALID'],
        [13, 'IMPORT_MAKER_UNKNOWN'],
        [14, 'IMPORT_PROFILE_UNKNOWN'],
        [15, 'IMPORT_TRANSPORT_INVALID'],
        [16, 'IMPORT_TRANSPORT_INCOMPLETE'],
        [17, 'IMPORT_TRANSPORT_INCOMPLETE'],
        [18, 'IMPORT_TRANSPORT_INCOMPLETE'],
        [19, 'IMPORT_TRANSPORT_INCOMPLETE'],
        [20, 'IMPORT_TRANSPORT_FIELD_INVALID'],
        [21, 'IMPORT_TRANSPORT_FIELD_INVALID'],
        [22, 'IMPORT_METER_STATE_INVALID'],
        [23, 'IMPORT_DUPLICATE_METER'],
        [24, 'IMPORT_DUPLICATE_METER'],
        [25, 'IMPORT_FIELD_MISSING'],
      ]);
      expect(dry.problems[4]).toMatchObject({ address: '31000000000012', zh: expect.stringMatching(/通道/) });
      expect(dry.problems[6]).toMatchObject({ details: { transport: 'collector', fields: ['collectorAddress'] } });
      const text2 = importReportLines(dry).join('\n');
      expect(text2).toMatch(
        /第 14 行 line 14 \[IMPORT_PROFILE_UNKNOWN\] 31000000000011: 协议方言未知.* \/ unknown dialect/,
      );

      // A small chunk: the rows go in several transactions, the report is the same.
      const real = await run(text, { chunk: 4 });
      const { batchId: _b, dryRun: _d, seconds: _s, ...same } = real;
      const { batchId: _b2, dryRun: _d2, seconds: _s2, ...sameDry } = dry;
      expect(same).toEqual(sameDry);
      const rows = await meters();
      expect(rows.map((r) => r.address)).toEqual([
        '31000000000001',
        '31000000000002',
        '31000000000003',
        '31000000000004',
        '32000000000001',
        '32000000000002',
        '32000000000003',
        '33000000000001',
        '34000000000001',
      ]);
      for (const r of rows) {
        expect(r).toMatchObject({ import_batch_id: real.batchId, import_sha256: real.sourceSha256 });
        expect(Number(r.version)).toBe(1);
      }
      // Only the chosen transport's fields are kept.
      expect(rows[7]).toMatchObject({ transport: 'dtu', dtu_id: 'DTU-9', bus_path: null, customer_no: 'C-8' });
      expect(await batchOf(t.database, real.batchId)).toMatchObject({
        kind: 'meters',
        source_sha256: real.sourceSha256,
        inserted: 9,
        invalid: 15,
      });
    });

    it('a re-run changes nothing; a changed row is a conflict unless --update, which keeps before and after', async () => {
      const text = [HEADER, ...GOOD].join('\n');
      const before = await meters();
      const again = await run(text);
      expect(again).toMatchObject({ inserted: 0, unchanged: 9, conflicts: 0, updated: 0 });
      expect(await meters()).toEqual(before);

      // The meter on ttyUSB1 moves to position 5 and is retired.
      const changed = [HEADER, ...GOOD.slice(0, 3), '31000000000004,chint,chint,serial,/dev/ttyUSB1,5,,,,C-4,retired'];
      const c = await run(changed.join('\n'));
      expect(c).toMatchObject({ inserted: 0, unchanged: 3, conflicts: 1, updated: 0 });
      expect(c.problems).toEqual([
        expect.objectContaining({
          line: 5,
          code: 'IMPORT_CONFLICT',
          address: '31000000000004',
          details: expect.objectContaining({
            differences: { bus_position: { registry: 1, file: 5 }, state: { registry: 'active', file: 'retired' } },
          }),
        }),
      ]);
      expect(await meters()).toEqual(before);

      const dryU = await run(changed.join('\n'), { update: true, dryRun: true });
      expect(dryU).toMatchObject({ updated: 1, conflicts: 0 });
      expect(await meters()).toEqual(before);

      const u = await run(changed.join('\n'), { update: true });
      expect(u).toMatchObject({ updated: 1, conflicts: 0, unchanged: 3 });
      expect(u.changes).toEqual([
        {
          address: '31000000000004',
          before: expect.objectContaining({ bus_position: 1, state: 'active' }),
          after: expect.objectContaining({ bus_position: 5, state: 'retired' }),
        },
      ]);
      const m = (await meters()).find((x) => x.address === '31000000000004')!;
      expect(m).toMatchObject({ state: 'retired', import_batch_id: u.batchId, import_sha256: u.sourceSha256 });
      expect(Number(m.version)).toBe(2);
      expect((await batchOf(t.database, u.batchId)).report.changes[0]).toMatchObject({
        address: '31000000000004',
        before: { state: 'active' },
        after: { state: 'retired' },
      });
      // Same file once more: now unchanged.
      expect(await run(changed.join('\n'))).toMatchObject({ unchanged: 4, conflicts: 0, updated: 0 });
    });

    it("a mapping file fits another system's columns and codes; JSON files import the same way", async () => {
      const mapping = JSON.stringify({
        columns: {
          address: '表地址',
          maker: '厂家',
          profile: '协议',
          transport: '通道',
          dtuId: 'DTU号',
          state: '状态',
        },
        values: { maker: { 正泰: 'chint' }, transport: { DTU: 'dtu' }, state: { 在用: 'active', 停用: 'suspended' } },
        defaults: { profile: 'chint' },
        delimiter: ';',
      });
      const text =
        '\uFEFF表地址;厂家;通道;DTU号;状态;备注\r\n35000000000001;正泰;DTU;D-1;在用;"a; b"\r\n35000000000002;正泰;DTU;D-2;停用;x\r\n';
      const r = await run(text, { mappingText: mapping });
      expect(r).toMatchObject({ rows: 2, inserted: 2, invalid: 0 });
      const rows = (await meters()).filter((x) => x.address.startsWith('35'));
      expect(rows.map((x) => [x.maker, x.profile, x.transport, x.dtu_id, x.state])).toEqual([
        ['chint', 'chint', 'dtu', 'D-1', 'active'],
        ['chint', 'chint', 'dtu', 'D-2', 'suspended'],
      ]);
      await expect(run(text, { mappingText: '{"columns":{"cardNo":"x"}}' })).rejects.toMatchObject({
        code: 'IMPORT_MAPPING_INVALID',
      });

      const j = await run(
        JSON.stringify([
          { address: '36000000000001', maker: 'chint', profile: 'chint', transport: 'mqtt', mqttDeviceId: 'm-1' },
          { address: '36000000000002', maker: 'chint', transport: 'mqtt' },
        ]),
      );
      expect(j).toMatchObject({ rows: 2, inserted: 1, invalid: 1 });
      expect(j.problems[0]).toMatchObject({ line: 2, code: 'IMPORT_FIELD_MISSING', details: { fields: ['profile'] } });
    });

    it('the store: filters and keyset paging, get, a bus in poll order, collectors grouped, only active', async () => {
      const store = new MeterStore(t.database);
      expect(await store.get('31000000000003')).toMatchObject({
        transport: 'serial',
        busPath: '/dev/ttyUSB0',
        busPosition: 2,
        customerNo: 'C-3',
        state: 'active',
      });
      expect(await store.get('39999999999999')).toBeNull();
      const all: string[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages < 10; pages++) {
        const p = await store.list({ limit: '4', ...(cursor ? { cursor } : {}) });
        all.push(...p.items.map((m) => m.address));
        if (!p.nextCursor) break;
        expect(p.items).toHaveLength(4);
        cursor = p.nextCursor;
      }
      expect(all).toEqual([...all].sort());
      expect(all).toHaveLength(12); // 9 + 2 mapped + 1 JSON
      const serialActive = await store.list({ transport: 'serial', state: 'active' });
      expect(serialActive.items.map((m) => m.address)).toEqual(['31000000000001', '31000000000003']);
      expect((await store.list({ customerNo: 'C-8' })).items.map((m) => m.transport)).toEqual(['dtu', 'mqtt']);
      // Position order, not address order; suspended and retired meters are not polled; other buses not mixed in.
      expect(await store.serialMeters('/dev/ttyUSB0')).toEqual(['31000000000001', '31000000000003']);
      expect(await store.serialMeters('/dev/ttyUSB1')).toEqual([]);
      expect(await store.collectorMeters('/dev/ttyUSB0')).toEqual(
        new Map([
          ['39000000000001', ['32000000000001']],
          ['39000000000002', ['32000000000003']],
        ]),
      );
    });

    it('RegistryDirectory: the active subset, asked in batches, cached until refresh', async () => {
      const dir = new RegistryDirectory(t.database);
      const many = Array.from({ length: 1200 }, (_, i) => `40${String(i).padStart(12, '0')}`);
      const ask = ['31000000000001', '31000000000002', '32000000000002', '39999999999999', ...many];
      expect([...(await dir.known(ask))].sort()).toEqual(['31000000000001']);
      expect(dir.queries).toBe(1);
      expect([...(await dir.known(['31000000000001', '39999999999999']))]).toEqual(['31000000000001']);
      expect(dir.queries).toBe(1); // both answers cached
      await run([HEADER, '39999999999999,chint,chint,dtu,,,,D-3,,,active'].join('\n'));
      expect([...(await dir.known(['39999999999999']))]).toEqual([]); // cached "unknown" until the reload
      dir.refresh();
      expect([...(await dir.known(['39999999999999']))]).toEqual(['39999999999999']);
      expect(dir.queries).toBe(2);
      // Past its age the cache is dropped without a refresh() (a directory wired without the gateway's reload).
      const aged = new RegistryDirectory(t.database, { maxAgeMs: 0 });
      await aged.known(['31000000000001']);
      await aged.known(['31000000000001']);
      expect(aged.queries).toBe(2);
      const bounded = new RegistryDirectory(t.database, { maxEntries: 2 });
      await bounded.known(['31000000000001', '31000000000002']);
      await bounded.known(['31000000000003']); // over the bound: starts again
      await bounded.known(['31000000000001']);
      expect(bounded.queries).toBe(3);
    });
  });
}
