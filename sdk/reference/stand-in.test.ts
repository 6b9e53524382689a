/**
 * The stand-in libraries (替身库) behave as sdk/include/gascard.h requires, per maker and memory card type.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import {
  blankCards,
  FACTORY_KEY,
  GC,
  HEX_LEN,
  KEY_LEN,
  MAKERS,
  StandIn,
  TOOL_PARAMS,
  ensureBuilt,
  cstr,
  readC,
  type CardType,
  type MemType,
} from './test-support.ts';

const UPPER_HEX = /^[0-9A-F]+$/;
const KH = '3701020025';
const ALL_CARD_TYPES: CardType[] = ['4442', '102', 'cpu'];

const libs = new Map<string, StandIn>();
beforeAll(() => {
  ensureBuilt();
  for (const m of MAKERS) libs.set(m.maker, new StandIn(m.maker));
});
const lib = (maker: string): StandIn => libs.get(maker)!;
const pub = (t: MemType, data: string): string => (t === '102' ? data.slice(0, 44) : data);

/** Replaces byte `i` (0-based) of a hex image. */
function setByte(hex: string, i: number, byte: string): string {
  return hex.slice(0, 2 * i) + byte + hex.slice(2 * i + 2);
}

const memoryCases = MAKERS.flatMap((m) =>
  m.cardTypes.filter((t): t is MemType => t !== 'cpu').map((t) => ({ ...m, t })),
);

describe.each(memoryCases)('$maker stand-in, $t card', ({ maker, t, toolKinds }) => {
  test('identifies itself as a stand-in and its layouts are consistent', () => {
    expect(lib(maker).info()).toContain(`maker=${maker};`);
    expect(lib(maker).info()).toContain('fault=NONE');
    expect(lib(maker).fns.StandInLayoutSelfTest!()).toBe(0);
  });

  test('WriteNew -> Read round trip, upper-case hex of the exact length, factory oldKey', () => {
    const w = lib(maker).writeNew(t, KH, 120, 1, 2);
    expect(w.rc).toBe(GC.OK);
    expect(w.data).toHaveLength(HEX_LEN[t]);
    expect(w.data).toMatch(UPPER_HEX);
    expect(w.oldKey).toBe(FACTORY_KEY[t]);
    expect(w.newKey).toHaveLength(KEY_LEN[t]);
    expect(w.newKey).toMatch(UPPER_HEX);
    expect(w.newKey).not.toBe(FACTORY_KEY[t]);
    if (t === '4442') expect(w.data.slice(0, 64)).toBe('A2131091FFFF8115' + 'FF'.repeat(24));
    else {
      expect(w.data.slice(0, 4)).toBe('0F0F'); // FZ
      expect(w.data.slice(20, 28)).toBe('F0F0FFFF'); // SC, SCAC: factory values, the key is not in the data
    }
    expect(lib(maker).read(t, w.data)).toEqual({ rc: 0, kh: KH, ql: 120, cs: 1, klx: 2 });
    // input is case-insensitive
    expect(lib(maker).read(t, w.data.toLowerCase())).toEqual({ rc: 0, kh: KH, ql: 120, cs: 1, klx: 2 });
  });

  test('limits round-trip: 32-digit kh with leading zeros, ql 99999999, cs 32767; ql 0, 1-digit kh', () => {
    const kh = '00' + '1234567890'.repeat(3);
    const w = lib(maker).writeNew(t, kh, 99_999_999, 32_767, 1);
    expect(w.rc).toBe(0);
    expect(lib(maker).read(t, w.data)).toEqual({ rc: 0, kh, ql: 99_999_999, cs: 32_767, klx: 1 });
    const w2 = lib(maker).writeNew(t, '7', 0, 0, 2);
    expect(lib(maker).read(t, w2.data)).toEqual({ rc: 0, kh: '7', ql: 0, cs: 0, klx: 2 });
  });

  test('outputs never go past the spec length plus NUL', () => {
    const s = lib(maker);
    const data = Buffer.alloc(4096, 0xee),
      o = Buffer.alloc(64, 0xee),
      n = Buffer.alloc(64, 0xee);
    expect(s.fns[`WriteNew${t}Card`]!(cstr(KH), 5, 1, 1, data, o, n)).toBe(0);
    expect(data[HEX_LEN[t]]).toBe(0);
    expect(data.subarray(HEX_LEN[t] + 1).every((b) => b === 0xee)).toBe(true);
    expect(o[KEY_LEN[t]]).toBe(0);
    expect(o.subarray(KEY_LEN[t] + 1).every((b) => b === 0xee)).toBe(true);
    expect(n.subarray(KEY_LEN[t] + 1).every((b) => b === 0xee)).toBe(true);
    const kh = Buffer.alloc(64, 0xee);
    const ql = new Int32Array(1),
      cs = new Int16Array(1),
      klx = new Int16Array(1);
    expect(s.fns[`Read${t}Card`]!(cstr(readC(data)), kh, ql, cs, klx)).toBe(0);
    expect(kh[KH.length]).toBe(0);
    expect(kh.subarray(KH.length + 1).every((b) => b === 0xee)).toBe(true);
  });

  test('keys are deterministic and differ per card number', () => {
    const a1 = lib(maker).writeNew(t, KH, 10, 1, 1);
    const a2 = lib(maker).writeNew(t, KH, 10, 1, 1);
    expect(a2).toEqual(a1);
    const keys = new Set(
      ['3701020026', '3701020027', '1', '99999999999999999999999999999999', KH].map(
        (kh) => lib(maker).writeNew(t, kh, 10, 1, 1).newKey,
      ),
    );
    expect(keys.size).toBe(5);
  });

  test('Buy -> Read, bytes the library does not own pass through, keys are the card key', () => {
    const w = lib(maker).writeNew(t, KH, 100, 1, 1);
    // a reader returns its own factory bytes: they must come back unchanged
    const src =
      t === '4442'
        ? 'A2131091460B8115' + w.data.slice(16)
        : '7155' + w.data.slice(4, 20) + '0000' + '0FFF' + w.data.slice(28);
    const b = lib(maker).buy(t, src, KH, 50, 2);
    expect(b.rc).toBe(0);
    expect(b.data).toHaveLength(HEX_LEN[t]);
    expect(b.data).toMatch(UPPER_HEX);
    if (t === '4442') expect(b.data.slice(0, 64)).toBe(src.slice(0, 64));
    else {
      expect(b.data.slice(0, 4)).toBe('7155'); // FZ
      expect(b.data.slice(24, 28)).toBe('0FFF'); // SCAC
      expect(b.data.slice(20, 24)).toBe('0000'); // SC bytes: passed through, the key never goes into data
    }
    expect(b.oldKey).toBe(w.newKey);
    expect(b.newKey).toBe(w.newKey);
    expect(lib(maker).read(t, b.data)).toEqual({ rc: 0, kh: KH, ql: 50, cs: 2, klx: 1 });
  });

  test('refund: Buy with ql 0 leaves no gas on the card', () => {
    const w = lib(maker).writeNew(t, KH, 100, 1, 1);
    const b = lib(maker).buy(t, w.data, KH, 80, 2);
    const r = lib(maker).buy(t, b.data, KH, 0, 3);
    expect(r.rc).toBe(0);
    expect(lib(maker).read(t, r.data)).toEqual({ rc: 0, kh: KH, ql: 0, cs: 3, klx: 1 });
  });

  test('Buy refuses the wrong card number, blank cards and tool cards', () => {
    const w = lib(maker).writeNew(t, KH, 100, 1, 1);
    expect(lib(maker).buy(t, w.data, '3701020026', 50, 2).rc).toBe(GC.CARDNO_MISMATCH);
    expect(lib(maker).buy(t, w.data, '37010200250', 50, 2).rc).toBe(GC.CARDNO_MISMATCH);
    for (const blank of Object.values(blankCards(t)))
      expect(lib(maker).buy(t, blank, KH, 50, 2).rc).toBe(GC.NEW_OR_BACKWARDS);
    const tool = lib(maker).makeTool(t, toolKinds[0]!, TOOL_PARAMS[toolKinds[0]!]!, blankCards(t).allFF);
    expect(lib(maker).buy(t, tool.data, KH, 50, 2).rc).toBe(GC.NOT_USER_CARD);
    expect(lib(maker).read(t, tool.data).rc).toBe(GC.NOT_USER_CARD);
  });

  test('Format gives the card password; blank cards are refused', () => {
    const w = lib(maker).writeNew(t, KH, 100, 1, 1);
    expect(lib(maker).format(t, w.data)).toEqual({ rc: 0, oldKey: w.newKey });
    const b = lib(maker).buy(t, w.data, KH, 5, 2);
    expect(lib(maker).format(t, b.data)).toEqual({ rc: 0, oldKey: w.newKey });
    for (const blank of Object.values(blankCards(t))) expect(lib(maker).format(t, blank).rc).toBe(GC.NEW_OR_BACKWARDS);
    expect(lib(maker).format(t, 'ZZ').rc).toBe(GC.BAD_DATA);
  });

  test('Check: 0 on own user card, -1 on blank cards', () => {
    const w = lib(maker).writeNew(t, KH, 100, 1, 1);
    const c = lib(maker).check(t, pub(t, w.data));
    expect(c.rc).toBe(GC.OK);
    if (t === '102') expect(c.oldKey).toBe(w.newKey); // the SC needed to read AZ1/AZ2
    for (const blank of Object.values(blankCards(t))) {
      const r = lib(maker).check(t, pub(t, blank));
      expect(r.rc).toBe(GC.NOT_OURS);
      expect(r.oldKey).toBe('');
    }
    if (t === '102') expect(lib(maker).check(t, w.data).rc).toBe(GC.BAD_DATA); // public zone only
  });

  test('a changed byte in the record is caught by the checksum', () => {
    const a = lib(maker).writeNew(t, KH, 100, 1, 1).data;
    const b = lib(maker).writeNew(t, KH, 101, 1, 1).data;
    let i = 0;
    while (a.slice(2 * i, 2 * i + 2) === b.slice(2 * i, 2 * i + 2)) i++;
    const tampered = setByte(a, i, b.slice(2 * i, 2 * i + 2)); // ql changed, checksum not
    expect(lib(maker).read(t, tampered).rc).toBe(GC.CHECKSUM);
    expect(lib(maker).buy(t, tampered, KH, 1, 2).rc).toBe(GC.CHECKSUM);
    expect(lib(maker).check(t, pub(t, tampered)).rc).toBe(GC.OK); // still ours: identity is intact
    expect(lib(maker).format(t, tampered).rc).toBe(GC.OK); // and a damaged card can be erased
  });

  test('bad parameters give GC_E_BAD_PARAM', () => {
    const s = lib(maker);
    for (const kh of ['', 'abc', '12 3', '-1', '1'.repeat(33), null])
      expect(s.writeNew(t, kh, 1, 1, 1).rc).toBe(GC.BAD_PARAM);
    expect(s.writeNew(t, KH, -1, 1, 1).rc).toBe(GC.BAD_PARAM);
    expect(s.writeNew(t, KH, 100_000_000, 1, 1).rc).toBe(GC.BAD_PARAM);
    expect(s.writeNew(t, KH, 1, -1, 1).rc).toBe(GC.BAD_PARAM);
    expect(s.writeNew(t, KH, 1, 1, 0).rc).toBe(GC.BAD_PARAM);
    expect(s.writeNew(t, KH, 1, 1, 3).rc).toBe(GC.BAD_PARAM);
    const w = s.writeNew(t, KH, 1, 1, 1);
    expect(s.buy(t, w.data, KH, -5, 2).rc).toBe(GC.BAD_PARAM);
    expect(s.buy(t, w.data, KH, 100_000_000, 2).rc).toBe(GC.BAD_PARAM);
    expect(s.buy(t, w.data, KH, 1, -2).rc).toBe(GC.BAD_PARAM);
    expect(s.buy(t, w.data, 'x1', 1, 2).rc).toBe(GC.BAD_PARAM);
  });

  test('bad card data gives GC_E_BAD_DATA', () => {
    const s = lib(maker);
    const d = s.writeNew(t, KH, 1, 1, 1).data;
    for (const bad of [
      d + '00',
      d.slice(0, -2),
      d.slice(0, -1),
      'G' + d.slice(1),
      d.slice(0, 10) + ' ' + d.slice(11),
      '',
      null,
    ]) {
      expect(s.read(t, bad).rc).toBe(GC.BAD_DATA);
      expect(s.buy(t, bad, KH, 1, 2).rc).toBe(GC.BAD_DATA);
      expect(s.format(t, bad).rc).toBe(GC.BAD_DATA);
      expect(s.readUsage(t, bad ?? '').rc).toBe(GC.BAD_DATA);
    }
    expect(s.check(t, 'XYZ').rc).toBe(GC.BAD_DATA);
  });

  test('tool cards: every listed kind is made, recognised (Check 1) and keyed', () => {
    const s = lib(maker);
    expect(s.listTools(t)).toEqual({ rc: 0, text: toolKinds.join(',') });
    const newKeys = new Set<string>();
    for (const kind of toolKinds) {
      const tool = s.makeTool(t, kind, TOOL_PARAMS[kind]!, blankCards(t).allFF);
      expect(tool.rc, kind).toBe(0);
      expect(tool.data).toHaveLength(HEX_LEN[t]);
      expect(tool.data).toMatch(UPPER_HEX);
      expect(tool.oldKey).toBe(FACTORY_KEY[t]);
      expect(tool.newKey).toHaveLength(KEY_LEN[t]);
      newKeys.add(tool.newKey);
      expect(s.check(t, pub(t, tool.data)).rc, kind).toBe(GC.OK + 1);
      expect(s.format(t, tool.data)).toEqual({ rc: 0, oldKey: tool.newKey });
      // made over an existing user card: oldKey is that card's key
      const user = s.writeNew(t, KH, 1, 1, 1);
      expect(s.makeTool(t, kind, TOOL_PARAMS[kind]!, user.data).oldKey).toBe(user.newKey);
    }
    expect(newKeys.size).toBe(toolKinds.length);
  });

  test('tool cards: unknown kinds, bad params and small buffers are refused', () => {
    const s = lib(maker);
    const blank = blankCards(t).allFF;
    for (const kind of [
      'REKEY',
      'X_NOPE',
      '',
      'clear',
      ...['CLEAR', 'CHECK', 'SETUP', 'VALVE_OPEN', 'VALVE_CLOSE', 'TRANSFER', 'CLOCK'].filter(
        (k) => !toolKinds.includes(k),
      ),
    ]) {
      expect(s.makeTool(t, kind, '', blank).rc, kind).toBe(GC.UNSUPPORTED);
    }
    const k0 = toolKinds[0]!;
    expect(s.makeTool(t, k0, 'foo=1', blank).rc).toBe(GC.BAD_PARAM);
    expect(s.makeTool(t, k0, 'novalue', blank).rc).toBe(GC.BAD_PARAM);
    expect(s.makeTool(t, k0, TOOL_PARAMS[k0]!, blank, HEX_LEN[t]).rc).toBe(GC.BUFFER_TOO_SMALL);
    expect(s.makeTool(t, k0, TOOL_PARAMS[k0]!, blank, 4096, KEY_LEN[t]).rc).toBe(GC.BUFFER_TOO_SMALL);
    expect(s.makeTool(t, k0, TOOL_PARAMS[k0]!, blank.slice(2)).rc).toBe(GC.BAD_DATA);
    if (toolKinds.includes('SETUP')) {
      expect(s.makeTool(t, 'SETUP', 'alarmGas=x', blank).rc).toBe(GC.BAD_PARAM);
      expect(s.makeTool(t, 'SETUP', 'alarmGas=1;alarmGas=2', blank).rc).toBe(GC.BAD_PARAM);
      expect(s.makeTool(t, 'SETUP', 'limit=123456789', blank).rc).toBe(GC.BAD_PARAM);
    }
    if (toolKinds.includes('TRANSFER')) {
      expect(s.makeTool(t, 'TRANSFER', '', blank).rc).toBe(GC.BAD_PARAM);
      expect(s.makeTool(t, 'TRANSFER', 'cardNo=12a', blank).rc).toBe(GC.BAD_PARAM);
    }
    if (toolKinds.includes('CLOCK')) {
      expect(s.makeTool(t, 'CLOCK', 'time=20251332000000', blank).rc).toBe(GC.BAD_PARAM);
      expect(s.makeTool(t, 'CLOCK', '', blank).rc).toBe(GC.BAD_PARAM);
    }
  });

  test('meter write-back round trip through StandInMeterWriteBack and ReadUsage', () => {
    const s = lib(maker);
    const b = s.buy(t, s.writeNew(t, KH, 100, 1, 1).data, KH, 50, 2);
    expect(s.readUsage(t, b.data)).toEqual({
      rc: 0,
      written: 0,
      status: 0,
      lastCode: 0,
      months: [],
      usage: [],
      count: 0,
    });
    const months = [202512, 202511, 202510, 202509, 202508, 202507, 202506, 202505, 202504, 202503, 202502, 202501];
    const usage = months.map((_, i) => 1000 * i + 37 + (i === 0 ? 16_000_000 : 0));
    const wb = s.meterWriteBack(t, b.data, 0x8005, 9, months, usage);
    expect(wb.rc).toBe(0);
    expect(wb.data).toHaveLength(HEX_LEN[t]);
    expect(s.readUsage(t, wb.data)).toEqual({
      rc: 0,
      written: 1,
      status: 0x8005,
      lastCode: 9,
      months,
      usage,
      count: 12,
    });
    expect(s.readUsage(t, wb.data, 3)).toMatchObject({
      rc: 0,
      count: 3,
      months: months.slice(0, 3),
      usage: usage.slice(0, 3),
    });
    expect(s.readUsage(t, wb.data, 0)).toMatchObject({ rc: 0, count: 0, written: 1 });
    expect(s.readUsage(t, wb.data, -1).rc).toBe(GC.BAD_PARAM);
    // the purchase record is untouched by the meter, and a new sale clears the flag but keeps the history
    expect(s.read(t, wb.data)).toEqual({ rc: 0, kh: KH, ql: 50, cs: 2, klx: 1 });
    const again = s.buy(t, wb.data, KH, 20, 3);
    expect(s.readUsage(t, again.data)).toMatchObject({ rc: 0, written: 0, status: 0x8005, count: 12 });
    // the meter's write-back is validated
    expect(s.meterWriteBack(t, b.data, 0, 10, [], []).rc).toBe(GC.BAD_PARAM);
    expect(s.meterWriteBack(t, b.data, 0x10000, 0, [], []).rc).toBe(GC.BAD_PARAM);
    expect(s.meterWriteBack(t, b.data, 0, 0, [202501, 202502], [1, 2]).rc).toBe(GC.BAD_PARAM);
    expect(s.meterWriteBack(t, b.data, 0, 0, [202513], [1]).rc).toBe(GC.BAD_PARAM);
    expect(s.meterWriteBack(t, b.data, 0, 0, [...months, 202412], [...usage, 1]).rc).toBe(GC.BAD_PARAM);
    expect(s.meterWriteBack(t, blankCards(t).allFF, 0, 0, [], []).rc).toBe(GC.NEW_OR_BACKWARDS);
    expect(s.meterWriteBack('cpu', b.data, 0, 0, [], []).rc).toBe(GC.UNSUPPORTED); // no memory-card maker here makes CPU cards
    expect(s.meterWriteBack('5557', b.data, 0, 0, [], []).rc).toBe(GC.BAD_PARAM);
  });
});

describe.each(MAKERS)('$maker stand-in, common functions', ({ maker, cardTypes }) => {
  test('GasCardInterfaceVersion is "1.0" and respects outSize', () => {
    expect(lib(maker).version()).toEqual({ rc: 0, text: '1.0' });
    expect(lib(maker).version(3).rc).toBe(GC.BUFFER_TOO_SMALL);
  });

  test('GasCardErrorText gives Chinese + English for every code the library uses', () => {
    const codes = [0, 1, ...Array.from({ length: 18 }, (_, i) => -(i + 1)), -31, -32, -33, -34, -35, -100];
    for (const code of codes) {
      const r = lib(maker).errorText(code);
      expect(r.rc, String(code)).toBe(0);
      expect(r.text).toMatch(/[\u4e00-\u9fff]/);
      expect(r.text).toMatch(/ \/ [A-Za-z]/);
    }
    expect(lib(maker).errorText(-14, 8).rc).toBe(GC.BUFFER_TOO_SMALL);
    expect(lib(maker).errorText(4242).rc).toBe(GC.BAD_PARAM);
  });

  test('card types it does not support give GC_E_UNSUPPORTED (Check gives -1)', () => {
    const s = lib(maker);
    for (const t of ALL_CARD_TYPES.filter((x) => !cardTypes.includes(x))) {
      expect(s.listTools(t).rc).toBe(GC.UNSUPPORTED);
      if (t === 'cpu') {
        expect(s.cpuWriteNew(0, KH, 1, 1, 1)).toBe(GC.UNSUPPORTED);
        expect(s.cpuRead(0).rc).toBe(GC.UNSUPPORTED);
        expect(s.cpuBuy(0, KH, 1, 1)).toBe(GC.UNSUPPORTED);
        expect(s.cpuFormat(0, KH)).toBe(GC.UNSUPPORTED);
        expect(s.cpuCheck(0)).toBe(GC.NOT_OURS);
        expect(s.cpuMakeTool(0, 'CLEAR', '')).toBe(GC.UNSUPPORTED);
        expect(s.cpuReadUsage(0).rc).toBe(GC.UNSUPPORTED);
        expect(s.cpuInsertBlank(0)).toBe(GC.UNSUPPORTED);
        continue;
      }
      const blank = blankCards(t).allFF;
      expect(s.writeNew(t, KH, 1, 1, 1).rc).toBe(GC.UNSUPPORTED);
      expect(s.read(t, blank).rc).toBe(GC.UNSUPPORTED);
      expect(s.buy(t, blank, KH, 1, 1).rc).toBe(GC.UNSUPPORTED);
      expect(s.format(t, blank).rc).toBe(GC.UNSUPPORTED);
      expect(s.check(t, pub(t, blank)).rc).toBe(GC.NOT_OURS);
      expect(s.makeTool(t, 'CLEAR', '', blank).rc).toBe(GC.UNSUPPORTED);
      expect(s.readUsage(t, blank).rc).toBe(GC.UNSUPPORTED);
      expect(s.meterWriteBack(t, blank, 0, 0, [], []).rc).toBe(GC.UNSUPPORTED);
    }
    expect(s.listTools('5557').rc).toBe(GC.BAD_PARAM);
  });
});
