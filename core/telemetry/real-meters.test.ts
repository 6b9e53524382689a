/**
 * Issue 20: what real meters send. Every frame here is built byte by byte from CJ/T 188 (reference §1.3–1.9,
 * heat layout per xijunzhou cj188.h) and the dialect in question, with its checksum computed here, so the
 * tests do not trust the encoder they check.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  decodeAll,
  decodeFrame,
  decodeHeatMetering,
  encodeFrame,
  frameStatus,
  frameToReading,
  fromHex,
  isReadingFrame,
  readingRefusal,
  registerProfile,
  toHex,
  type DialectProfile,
} from './index.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/meterhub.mjs', 'telemetry', ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

/** 68 T A0..A6 C L DATA CS 16 with the checksum summed here. */
function frame(type: number, control: number, data: number[]): number[] {
  const head = [0x68, type, 0x44, 0x33, 0x22, 0x11, 0x00, 0x33, 0x78, control, data.length, ...data];
  const cs = head.reduce((s, b) => s + b, 0) & 0xff;
  return [...head, cs, 0x16];
}
const hex = (b: number[]) => toHex(Uint8Array.from(b), ' ');

/** Standard 19-byte gas/water 901F data: 1234.56 m³, 1200.00 m³, 2024-06-30 08:15:42, ST 00 00. */
const GAS_901F = [
  0x56, 0x34, 0x12, 0x00, 0x2c, 0x00, 0x00, 0x12, 0x00, 0x2c, 0x42, 0x15, 0x08, 0x30, 0x06, 0x24, 0x20, 0x00, 0x00,
];

/** Heat 901F after DI+SER (43 bytes, L = 2EH = 46 with DI and SER). */
const HEAT_901F = [
  0x56,
  0x34,
  0x12,
  0x00,
  0x05, //   settlement-day heat 1234.56 kWh
  0x00,
  0x00,
  0x13,
  0x00,
  0x05, //   current heat 1300.00 kWh
  0x34,
  0x12,
  0x00,
  0x00,
  0x17, //   heat power 12.34 kW
  0x78,
  0x56,
  0x00,
  0x00,
  0x35, //   flow 0.5678 m³/h
  0x67,
  0x45,
  0x03,
  0x00,
  0x2c, //   accumulated flow 345.67 m³
  0x43,
  0x65,
  0x00, //               supply 65.43 °C
  0x21,
  0x45,
  0x00, //               return 45.21 °C
  0x60,
  0x87,
  0x00, //               working time 8760 h
  0x42,
  0x15,
  0x08,
  0x30,
  0x06,
  0x24,
  0x20, // clock 2024-06-30 08:15:42
  0x00,
  0x00, //                     ST
];

describe('heat-meter replies are never turned into gas readings', () => {
  const heat = frame(0x20, 0x81, [0x1f, 0x90, 0x00, ...HEAT_901F]);

  it('a type 20H 901F reply (L = 46) is refused with TELEMETRY_METER_TYPE_UNSUPPORTED', () => {
    expect(heat[10]).toBe(46);
    const d = decodeFrame(Uint8Array.from(heat), 'cjt188-company');
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(readingRefusal(d.frame, 'cjt188-company')?.code).toBe('TELEMETRY_METER_TYPE_UNSUPPORTED');
    expect(() => frameToReading(d.frame, 'cjt188-company', { source: 'mqtt' })).toThrow(
      /TELEMETRY_METER_TYPE_UNSUPPORTED/,
    );
  });

  it('a gas-type reply with a 901F body of a layout the profile does not define is refused (TELEMETRY_LAYOUT_UNDEFINED)', () => {
    const d = decodeFrame(Uint8Array.from(frame(0x30, 0x81, [0x1f, 0x90, 0x00, ...HEAT_901F])), 'cjt188-company');
    if (!d.ok) throw d.error;
    expect(readingRefusal(d.frame, 'cjt188-company')?.code).toBe('TELEMETRY_LAYOUT_UNDEFINED');
    expect(() => frameToReading(d.frame, 'cjt188-company', { source: 'mqtt' })).toThrow(/TELEMETRY_LAYOUT_UNDEFINED/);
  });

  it('the standard heat layout decodes field by field, units kept', () => {
    const d = decodeFrame(Uint8Array.from(heat), 'cjt188-company');
    if (!d.ok) throw d.error;
    const h = decodeHeatMetering(d.frame, 'cjt188-company');
    expect(h).toMatchObject({
      meterId: '78330011223344',
      meterType: 0x20,
      settlementHeat: { value: '1234.56', unit: 'kWh' },
      currentHeat: { value: '1300.00', unit: 'kWh' },
      heatPower: { value: '12.34', unit: 'kW' },
      flowRate: { value: '0.5678', unit: 'm³/h' },
      accumulatedFlow: { value: '345.67', unit: 'm³' },
      supplyTemperature: '65.43',
      returnTemperature: '45.21',
      workingHours: '8760',
      meterTime: '2024-06-30T08:15:42',
      status: { valve: 'open', lowBattery: false },
    });
  });

  it('the CLI shows the heat values and flags the refusal instead of printing a gas reading', () => {
    const r = cli('decode', hex(heat), '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.reading).toBeNull();
    expect(j.refusal.code).toBe('TELEMETRY_METER_TYPE_UNSUPPORTED');
    expect(j.heat.currentHeat).toEqual({ value: '1300.00', unit: 'kWh' });
  });

  it('a gas 901F reply still becomes a reading', () => {
    const d = decodeFrame(Uint8Array.from(frame(0x30, 0x81, [0x1f, 0x90, 0x01, ...GAS_901F])), 'cjt188-company');
    if (!d.ok) throw d.error;
    expect(readingRefusal(d.frame, 'cjt188-company')).toBeNull();
    expect(frameToReading(d.frame, 'cjt188-company', { source: 'mqtt' }).cumulative).toBe('1234.56');
  });
});

describe('a dialect gives the byte order per DI (maker 7833)', () => {
  const maker7833: DialectProfile = registerProfile({
    name: 'test-maker-7833',
    maker: '7833',
    diOrder: 'le',
    diOrders: { A017: 'be' },
    clockOrder: 'le',
    preamble: 2,
    errorReply: 'ser-st',
    source: 'issue 20: 901F as 1F 90, 810A as 0A 81, A017 as A0 17',
  } as DialectProfile);

  it('decodes 901F sent as 1F 90 and the valve reply sent as A0 17', () => {
    const read = decodeFrame(Uint8Array.from(frame(0x10, 0x81, [0x1f, 0x90, 0x05, ...GAS_901F])), maker7833);
    if (!read.ok) throw read.error;
    expect(read.frame.di).toBe(0x901f);
    const valve = decodeFrame(Uint8Array.from(frame(0x10, 0x84, [0xa0, 0x17, 0x06, 0x01, 0x00])), maker7833);
    if (!valve.ok) throw valve.error;
    expect(valve.frame.di).toBe(0xa017);
    expect(frameStatus(valve.frame, maker7833)?.valve).toBe('closed');
    const addr = decodeFrame(Uint8Array.from(frame(0x10, 0x83, [0x0a, 0x81, 0x07])), maker7833);
    if (!addr.ok) throw addr.error;
    expect(addr.frame.di).toBe(0x810a);
  });

  it('encodes each DI in its own order', () => {
    const valve = encodeFrame(
      { meterType: 0x10, address: '78330011223344', control: 0x04, di: 0xa017, ser: 6, payload: Uint8Array.of(0x99) },
      maker7833,
      { preamble: 0 },
    );
    expect(toHex(valve.subarray(11, 13), ' ')).toBe('A0 17');
    const read = encodeFrame(
      { meterType: 0x10, address: '78330011223344', control: 0x01, di: 0x901f, ser: 6, payload: new Uint8Array(0) },
      maker7833,
      { preamble: 0 },
    );
    expect(toHex(read.subarray(11, 13), ' ')).toBe('1F 90');
  });

  it('a profile with a bad diOrders entry is refused', () => {
    expect(() =>
      registerProfile({ ...maker7833, name: 'bad-7833', diOrders: { a017: 'be' } } as DialectProfile),
    ).toThrow(/TELEMETRY_PROFILE_INVALID/);
    expect(() =>
      registerProfile({ ...maker7833, name: 'bad-7833', diOrders: { A017: 'middle' } } as unknown as DialectProfile),
    ).toThrow(/TELEMETRY_PROFILE_INVALID/);
  });
});

describe('leading noise is skipped by the single-frame decoder and the CLI, like the stream decoder', () => {
  const good = frame(0x10, 0x81, [0x1f, 0x90, 0x00, ...GAS_901F]);
  it.each([
    ['FF', [0xff]],
    ['00 00', [0x00, 0x00]],
    ['FE FF FE', [0xfe, 0xff, 0xfe]],
    ['a stray 68 in the noise', [0x68, 0x00, 0x13, 0x68]],
  ])('%s before 68', (_name, noise) => {
    const d = decodeFrame(Uint8Array.from([...noise, ...good]), 'le');
    expect(d.ok).toBe(true);
    if (d.ok) expect(d.offset).toBe(noise.length);
    const stream = decodeAll(Uint8Array.from([...noise, ...good]), 'le').filter((e) => e.type === 'frame');
    expect(stream).toHaveLength(1);
  });

  it('meterhub telemetry decode accepts a reply that starts with FF or 00', () => {
    for (const noise of ['FF', '00']) {
      const r = cli('decode', `${noise} ${hex(good)}`, '--profile', 'le', '--json');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out).reading.cumulative).toBe('1234.56');
    }
  });
});

describe('NB-IoT trailing bytes after 16H', () => {
  const nb: DialectProfile = registerProfile({
    name: 'test-nbiot-rssi',
    diOrder: 'le',
    clockOrder: 'le',
    preamble: 0,
    trailer: { length: 2, name: 'rssi', zh: '信号强度', en: 'signal strength' },
    source: 'issue 20: NB-IoT module appends 2 bytes of signal strength after 16H',
  } as DialectProfile);
  const good = frame(0x30, 0x81, [0x1f, 0x90, 0x00, ...GAS_901F]);

  it('are recorded on the reading under the dialect option', () => {
    const d = decodeFrame(Uint8Array.from([...good, 0x1a, 0x05]), nb);
    if (!d.ok) throw d.error;
    expect(d.trailer && toHex(d.trailer)).toBe('1A05');
    const r = frameToReading(d.frame, nb, { source: 'mqtt', raw: d.raw, ...(d.trailer ? { trailer: d.trailer } : {}) });
    expect(r.trailer).toEqual({ name: 'rssi', hex: '1A05' });
    expect(r.cumulative).toBe('1234.56');
  });

  it('are recorded by the stream decoder too (MQTT uplinks)', () => {
    const evs = decodeAll(Uint8Array.from([...good, 0x1a, 0x05, ...good, 0x1b, 0x06]), nb);
    expect(evs.map((e) => (e.type === 'frame' ? toHex(e.trailer ?? new Uint8Array(0)) : e.code))).toEqual([
      '1A05',
      '1B06',
    ]);
  });

  it('stay a length error without the option', () => {
    const d = decodeFrame(Uint8Array.from([...good, 0x1a, 0x05]), 'cjt188-company');
    expect(d.ok ? 'ok' : d.code).toBe('FRAME_LENGTH');
  });
});

describe('big-endian DIs under the default profile', () => {
  const be901f = frame(0x30, 0x81, [0x90, 0x1f, 0x00, ...GAS_901F]);

  it('the error names the other byte order instead of showing an unknown DI', () => {
    const d = decodeFrame(Uint8Array.from(be901f), 'cjt188-company');
    if (!d.ok) throw d.error;
    expect(isReadingFrame(d.frame)).toBe(false);
    const e = readingRefusal(d.frame, 'cjt188-company');
    expect(e?.code).toBe('TELEMETRY_DI_BYTE_ORDER');
    expect(e?.en).toContain('901F');
    expect(e?.en).toContain('be');
  });

  it('the CLI exits 2 with that code', () => {
    const r = cli('decode', hex(be901f));
    expect(r.code).toBe(2);
    expect(r.err).toContain('TELEMETRY_DI_BYTE_ORDER');
    expect(r.err).toContain('901F');
  });

  it('a genuinely unknown DI is not blamed on byte order', () => {
    const d = decodeFrame(Uint8Array.from(frame(0x30, 0x81, [0x34, 0x12, 0x00, 0x01])), 'cjt188-company');
    if (!d.ok) throw d.error;
    expect(readingRefusal(d.frame, 'cjt188-company')).toBeNull();
  });
});

describe('fromHex sanity for this file', () => {
  it('frames built here have the checksum the codec computes', () => {
    const d = decodeFrame(fromHex(hex(frame(0x30, 0x81, [0x1f, 0x90, 0x00, ...GAS_901F]))), 'cjt188-company');
    expect(d.ok).toBe(true);
  });
});
