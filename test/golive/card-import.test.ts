/**
 * Bulk card import (go-live): validation report, dry run, idempotent re-run, conflicts and audited updates,
 * mapping files, the origin on every card — on SQLite and PostgreSQL, with the real plugin host.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importCards } from '../../core/golive/card-import.ts';
import { openTestDatabase, type TestDatabase } from '../../core/ledger/testing/databases.ts';
import { createPluginHost } from '../../core/plugins/plugin-host.ts';
import type { PluginHost } from '../../core/plugins/plugin-types.ts';
import { BUNDLED_PLUGINS } from '../api/support.ts';
import { batchOf } from './import-support.ts';

const actor = { name: 'ops-cli', role: 'ops', channel: 'cli' };
const HEADER = 'maker,cardType,cardNo,userNo,meterNo,meterKind,count,lastSaleAt,lastSaleGas,state';
const GOOD = [
  'kingcard,4442,10000001,U1,M1,1,7,2026-11-02 10:00:00,20,active',
  'zenner,102,10000002,U2,M2,2,1,,,lost',
  'chint,4442,10000003,,,1,32767,,,retired',
];

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`card import (${kind})`, () => {
    let t: TestDatabase;
    let host: PluginHost;
    beforeAll(async () => {
      t = await openTestDatabase(kind);
      host = await createPluginHost({ bundledDir: BUNDLED_PLUGINS, pluginPaths: [], ignoreEnv: true, dataDir: t.dir });
      await host.disable('songchuan');
    });
    afterAll(async () => {
      await host?.close();
      await t?.cleanup();
    });
    const cards = () => t.database.db.selectFrom('ledger_cards').selectAll().orderBy('card_no').execute();
    const run = (text: string, o: { dryRun?: boolean; update?: boolean; mappingText?: string } = {}) =>
      importCards({ database: t.database, host, actor, text, fileName: 'old.csv', ...o });

    it('names every bad row and why; a dry run writes nothing and reports the same', async () => {
      const bad = [
        'nosuch,4442,20000001,,,1,1,,,active', // line 5
        'songchuan,4442,20000002,,,1,1,,,active', // disabled
        'tancy,4442,20000003,,,1,1,,,active', // tancy makes CPU cards only
        'kingcard,4442,20000004,,,1,32768,,,active', // over __int16
        'kingcard,4442,20000005,,,1,-1,,,active',
        'kingcard,4442,20000006,,,3,1,,,active',
        'kingcard,4442,20000007,,,1,1,,,stolen',
        'kingcard,4442,20000008,,,1,1,yesterday,,active',
        'kingcard,4442,2000-0009,,,1,1,,,active',
        'kingcard,4442,20000010,,,1,1,,,active',
        'lanbaoshi,4442,20000010,,,1,1,,,active', // the same card number twice
        'kingcard,,20000011,,,1,1,,,active',
      ];
      const text = [HEADER, ...GOOD, ...bad].join('\n');
      const dry = await run(text, { dryRun: true });
      expect(await cards()).toHaveLength(0);
      expect(await t.database.db.selectFrom('import_batches').selectAll().execute()).toHaveLength(0);
      expect(dry).toMatchObject({ batchId: null, rows: 15, valid: 3, inserted: 3, invalid: 12, conflicts: 0 });
      expect(dry.problems.map((p) => [p.line, p.code])).toEqual([
        [5, 'IMPORT_MAKER_UNKNOWN'],
        [6, 'IMPORT_MAKER_DISABLED'],
        [7, 'IMPORT_CARD_TYPE_UNSUPPORTED'],
        [8, 'IMPORT_COUNT_OUT_OF_RANGE'],
        [9, 'IMPORT_COUNT_OUT_OF_RANGE'],
        [10, 'IMPORT_METER_KIND_INVALID'],
        [11, 'IMPORT_STATE_INVALID'],
        [12, 'IMPORT_TIME_INVALID'],
        [13, 'IMPORT_CARD_NO_INVALID'],
        [14, 'IMPORT_DUPLICATE_CARD'],
        [15, 'IMPORT_DUPLICATE_CARD'],
        [16, 'IMPORT_FIELD_MISSING'],
      ]);
      expect(dry.problems[0]).toMatchObject({
        zh: expect.stringMatching(/厂家未知/),
        en: expect.stringMatching(/unknown maker/),
      });

      const real = await run(text);
      const { batchId: _b, dryRun: _d, seconds: _s, ...same } = real;
      const { batchId: _b2, dryRun: _d2, seconds: _s2, ...sameDry } = dry;
      expect(same).toEqual(sameDry);
      expect(real.batchId).toMatch(new RegExp(`^imp_[0-9a-z]+_${real.sourceSha256.slice(0, 12)}_`));
      const rows = await cards();
      expect(rows.map((r) => [r.maker, r.card_no, r.count, r.status, r.meter_kind])).toEqual([
        ['kingcard', '10000001', 7, 'active', 1],
        ['zenner', '10000002', 1, 'lost', 2],
        ['chint', '10000003', 32767, 'retired', 1],
      ]);
      for (const r of rows)
        expect(r).toMatchObject({ import_batch_id: real.batchId, import_sha256: real.sourceSha256, version: 1 });
      expect(rows[0]).toMatchObject({
        user_no: 'U1',
        meter_no: 'M1',
        last_sale_at: '2026-11-02T10:00:00',
        last_sale_gas: 20,
        open_gas: 20,
      });
      expect(await batchOf(t.database, real.batchId)).toMatchObject({
        source_sha256: real.sourceSha256,
        inserted: 3,
        invalid: 12,
        actor_name: 'ops-cli',
        file_name: 'old.csv',
      });
    });

    it('a re-run changes nothing; a changed row is a conflict unless --update, which keeps before and after', async () => {
      const text = [HEADER, ...GOOD].join('\n');
      const before = await cards();
      const again = await run(text);
      expect(again).toMatchObject({ inserted: 0, unchanged: 3, conflicts: 0, updated: 0 });
      expect(await cards()).toEqual(before);

      const changed = [HEADER, 'kingcard,4442,10000001,U1,M1,1,9,2026-11-02 10:00:00,20,active', ...GOOD.slice(1)].join(
        '\n',
      );
      const c = await run(changed);
      expect(c).toMatchObject({ inserted: 0, unchanged: 2, conflicts: 1, updated: 0 });
      expect(c.problems).toEqual([
        expect.objectContaining({
          line: 2,
          code: 'IMPORT_CONFLICT',
          cardNo: '10000001',
          details: expect.objectContaining({ differences: { count: { ledger: 7, file: 9 } } }),
        }),
      ]);
      expect(await cards()).toEqual(before);

      const u = await run(changed, { update: true });
      expect(u).toMatchObject({ updated: 1, conflicts: 0, unchanged: 2 });
      expect(u.changes).toEqual([
        {
          maker: 'kingcard',
          cardNo: '10000001',
          before: expect.objectContaining({ count: 7 }),
          after: expect.objectContaining({ count: 9 }),
        },
      ]);
      const k = (await cards())[0]!;
      expect(k).toMatchObject({ count: 9, version: 2, import_batch_id: u.batchId, import_sha256: u.sourceSha256 });
      expect((await batchOf(t.database, u.batchId)).report.changes[0]).toMatchObject({
        cardNo: '10000001',
        before: { count: 7 },
        after: { count: 9 },
      });
    });

    it("a mapping file fits another system's columns and codes without code", async () => {
      const mapping = JSON.stringify({
        columns: {
          maker: '厂家',
          cardType: '卡型',
          cardNo: '卡号',
          count: '购气次数',
          state: '状态',
          meterKind: '表类型',
        },
        values: {
          maker: { 金卡: 'kingcard' },
          state: { 正常: 'active', 挂失: 'lost' },
          meterKind: { 民用: '1', 工业: '2' },
        },
        defaults: { cardType: '4442' },
        delimiter: ';',
      });
      const text =
        '\uFEFF卡号;厂家;购气次数;状态;表类型;备注\r\n30000001;金卡;12;正常;民用;"a; b"\r\n30000002;金卡;3;挂失;工业;"say ""hi"""\r\n';
      const r = await run(text, { mappingText: mapping });
      expect(r).toMatchObject({ rows: 2, inserted: 2, invalid: 0 });
      const rows = (await cards()).filter((x) => x.card_no.startsWith('3'));
      expect(rows.map((x) => [x.maker, x.card_type, x.count, x.status, x.meter_kind])).toEqual([
        ['kingcard', '4442', 12, 'active', 1],
        ['kingcard', '4442', 3, 'lost', 2],
      ]);
      await expect(run(text, { mappingText: '{"columns":{"nope":"x"}}' })).rejects.toMatchObject({
        code: 'IMPORT_MAPPING_INVALID',
      });
    });

    it('JSON files import the same way', async () => {
      const r = await run(
        JSON.stringify([
          { maker: 'kingcard', cardType: '4442', cardNo: '40000001', count: 5 },
          { maker: 'kingcard', cardNo: '40000002' },
        ]),
      );
      expect(r).toMatchObject({ rows: 2, inserted: 1, invalid: 1 });
      expect(r.problems[0]).toMatchObject({
        line: 2,
        code: 'IMPORT_FIELD_MISSING',
        details: { fields: ['cardType', 'count'] },
      });
    });
  });
}
