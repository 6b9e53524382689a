/**
 * The Tancy CPU stand-in: a simulated card and PSAM per port, kept in files under METERHUB_SIM_CPU_DIR.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { GC, MAKERS, StandIn, TOOL_PARAMS, ensureBuilt } from './test-support.ts';

const KH = '3701020025';
let dir: string;
let s: StandIn;
let com = 0;

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'meterhub-sim-cpu-'));
  process.env.METERHUB_SIM_CPU_DIR = join(dir, 'nested', 'sim'); // created on first write
  s = new StandIn('tancy');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  com++;
}); // a fresh simulated reader per test

describe('tancy CPU stand-in', () => {
  test('an empty reader reports no card', () => {
    expect(s.cpuCheck(com)).toBe(GC.NO_CARD);
    expect(s.cpuRead(com).rc).toBe(GC.NO_CARD);
    expect(s.cpuWriteNew(com, KH, 1, 1, 1)).toBe(GC.NO_CARD);
    expect(s.cpuBuy(com, KH, 1, 1)).toBe(GC.NO_CARD);
    expect(s.cpuFormat(com, KH)).toBe(GC.NO_CARD);
    expect(s.cpuMakeTool(com, 'CLEAR', '')).toBe(GC.NO_CARD);
    expect(s.cpuReadUsage(com).rc).toBe(GC.NO_CARD);
  });

  test('issue, read, buy, refund, format on a blank card', () => {
    expect(s.cpuInsertBlank(com)).toBe(0);
    expect(readdirSync(process.env.METERHUB_SIM_CPU_DIR!)).toContain(`com${com}.card`);
    expect(s.cpuCheck(com)).toBe(GC.NOT_OURS);
    expect(s.cpuRead(com).rc).toBe(GC.NEW_OR_BACKWARDS);
    expect(s.cpuWriteNew(com, KH, 100, 1, 2)).toBe(0);
    expect(s.cpuWriteNew(com, KH, 100, 1, 2)).toBe(GC.NOT_NEW_CARD);
    expect(s.cpuCheck(com)).toBe(0);
    expect(s.cpuRead(com)).toEqual({ rc: 0, kh: KH, ql: 100, cs: 1, klx: 2 });
    expect(s.cpuBuy(com, '3701020026', 50, 2)).toBe(GC.CARDNO_MISMATCH);
    expect(s.cpuBuy(com, KH, 50, 2)).toBe(0);
    expect(s.cpuRead(com)).toEqual({ rc: 0, kh: KH, ql: 50, cs: 2, klx: 2 });
    expect(s.cpuBuy(com, KH, 0, 3)).toBe(0);
    expect(s.cpuRead(com)).toEqual({ rc: 0, kh: KH, ql: 0, cs: 3, klx: 2 });
    expect(s.cpuFormat(com, '3701020026')).toBe(GC.CARDNO_MISMATCH);
    expect(s.cpuFormat(com, KH)).toBe(0);
    expect(s.cpuCheck(com)).toBe(GC.NOT_OURS);
    expect(s.cpuFormat(com, KH)).toBe(GC.NEW_OR_BACKWARDS);
    expect(s.cpuWriteNew(com, '42', 7, 1, 1)).toBe(0); // a formatted card is new again
    expect(s.cpuRead(com)).toEqual({ rc: 0, kh: '42', ql: 7, cs: 1, klx: 1 });
  });

  test('the card is deterministic and each port is its own reader', () => {
    const other = com + 100;
    for (const c of [com, other]) {
      expect(s.cpuInsertBlank(c)).toBe(0);
      expect(s.cpuWriteNew(c, KH, 10, 1, 1)).toBe(0);
    }
    expect(s.cpuGetData(com)).toEqual(s.cpuGetData(other));
    expect(s.cpuGetData(com).data).toMatch(/^[0-9A-F]{512}$/);
    expect(s.cpuBuy(other, KH, 99, 2)).toBe(0);
    expect(s.cpuRead(com).ql).toBe(10);
    expect(s.cpuRead(other).ql).toBe(99);
  });

  test('without the PSAM nothing but Check works; removing the card gives no card', () => {
    expect(s.cpuInsertBlank(com)).toBe(0);
    expect(s.cpuWriteNew(com, KH, 10, 1, 1)).toBe(0);
    expect(s.cpuSetPsam(com, false)).toBe(0);
    expect(s.cpuCheck(com)).toBe(0);
    expect(s.cpuRead(com).rc).toBe(GC.PSAM);
    expect(s.cpuBuy(com, KH, 5, 2)).toBe(GC.PSAM);
    expect(s.cpuFormat(com, KH)).toBe(GC.PSAM);
    expect(s.cpuMakeTool(com, 'CLEAR', '')).toBe(GC.PSAM);
    expect(s.cpuReadUsage(com).rc).toBe(GC.PSAM);
    expect(s.cpuInsertBlank(com)).toBe(0); // PSAM state survives a card swap
    expect(s.cpuWriteNew(com, KH, 10, 1, 1)).toBe(GC.PSAM);
    expect(s.errorText(GC.PSAM).text).toContain('PSAM');
    expect(s.cpuSetPsam(com, true)).toBe(0);
    expect(s.cpuWriteNew(com, KH, 10, 1, 1)).toBe(0);
    expect(s.cpuRemove(com)).toBe(0);
    expect(s.cpuCheck(com)).toBe(GC.NO_CARD);
    expect(s.cpuRead(com).rc).toBe(GC.NO_CARD);
  });

  test('tool cards: every kind is made and recognised; unknown kinds and bad params refused', () => {
    const kinds = MAKERS.find((m) => m.maker === 'tancy')!.toolKinds;
    expect(s.listTools('cpu')).toEqual({ rc: 0, text: kinds.join(',') });
    expect(s.listTools('4442').rc).toBe(GC.UNSUPPORTED);
    expect(s.cpuInsertBlank(com)).toBe(0);
    for (const kind of kinds) {
      expect(s.cpuMakeTool(com, kind, TOOL_PARAMS[kind]!)).toBe(0);
      expect(s.cpuCheck(com)).toBe(1);
      expect(s.cpuRead(com).rc).toBe(GC.NOT_USER_CARD);
      expect(s.cpuBuy(com, KH, 1, 1)).toBe(GC.NOT_USER_CARD);
      expect(s.cpuWriteNew(com, KH, 1, 1, 1)).toBe(GC.NOT_NEW_CARD);
      expect(s.cpuFormat(com, '')).toBe(0);
    }
    expect(s.cpuMakeTool(com, 'SETUP', '')).toBe(GC.UNSUPPORTED);
    expect(s.cpuMakeTool(com, 'X_FOO', '')).toBe(GC.UNSUPPORTED);
    expect(s.cpuMakeTool(com, 'TRANSFER', '')).toBe(GC.BAD_PARAM);
    expect(s.cpuMakeTool(com, 'CLEAR', 'a=1')).toBe(GC.BAD_PARAM);
  });

  test('a foreign card in the reader is not ours and is not overwritten', () => {
    const king = new StandIn('kingcard');
    const foreign = king.writeNew('4442', KH, 100, 1, 1).data;
    expect(s.cpuInsertData(com, foreign)).toBe(0);
    expect(s.cpuCheck(com)).toBe(GC.NOT_OURS);
    expect(s.cpuRead(com).rc).toBe(GC.NOT_THIS_SYSTEM);
    expect(s.cpuWriteNew(com, KH, 1, 1, 1)).toBe(GC.NOT_NEW_CARD);
    expect(s.cpuMakeTool(com, 'CLEAR', '')).toBe(GC.NOT_THIS_SYSTEM);
    expect(s.cpuFormat(com, KH)).toBe(GC.NOT_THIS_SYSTEM);
    expect(s.cpuGetData(com).data).toBe(foreign);
    expect(s.cpuInsertData(com, 'ABC')).toBe(GC.BAD_DATA);
  });

  test('meter write-back round trip', () => {
    expect(s.cpuInsertBlank(com)).toBe(0);
    expect(s.cpuWriteNew(com, KH, 10, 1, 1)).toBe(0);
    expect(s.cpuReadUsage(com)).toEqual({ rc: 0, written: 0, status: 0, lastCode: 0, months: [], usage: [], count: 0 });
    expect(s.cpuMeterWriteBack(com, 0x0102, 4, [202503, 202502], [1250, 980])).toBe(0);
    expect(s.cpuReadUsage(com)).toEqual({
      rc: 0,
      written: 1,
      status: 0x0102,
      lastCode: 4,
      months: [202503, 202502],
      usage: [1250, 980],
      count: 2,
    });
    expect(s.cpuMeterWriteBack(com, 0, 10, [], [])).toBe(GC.BAD_PARAM);
    expect(s.cpuBuy(com, KH, 5, 2)).toBe(0);
    expect(s.cpuReadUsage(com)).toMatchObject({ rc: 0, written: 0, count: 2 });
    expect(s.meterWriteBack('cpu', s.cpuGetData(com).data, 0, 0, [], []).rc).toBe(GC.BAD_PARAM);
    expect(s.meterWriteBack('4442', s.cpuGetData(com).data, 0, 0, [], []).rc).toBe(GC.UNSUPPORTED);
  });

  test('bad parameters and ports', () => {
    expect(s.cpuInsertBlank(com)).toBe(0);
    for (const kh of ['', 'x', '1'.repeat(33), null]) expect(s.cpuWriteNew(com, kh, 1, 1, 1)).toBe(GC.BAD_PARAM);
    expect(s.cpuWriteNew(com, KH, -1, 1, 1)).toBe(GC.BAD_PARAM);
    expect(s.cpuWriteNew(com, KH, 1, -1, 1)).toBe(GC.BAD_PARAM);
    expect(s.cpuWriteNew(com, KH, 1, 1, 5)).toBe(GC.BAD_PARAM);
    expect(s.cpuBuy(com, KH, 100_000_000, 1)).toBe(GC.BAD_PARAM);
    expect(s.cpuCheck(-1)).toBe(-2);
    expect(s.cpuRead(300).rc).toBe(-2);
    expect(s.cpuReadUsage(com, -1).rc).toBe(GC.BAD_PARAM);
  });
});
