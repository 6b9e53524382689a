import { describe, expect, it } from 'vitest';
import {
  buildReadReply,
  buildValveReply,
  decodeFrame,
  encodeFrame,
  frameToReading,
  historyMonthOf,
  registerProfile,
  type Cjt188Frame,
} from './index.ts';

const ADDR = '20240000000001';

function reply901F(payload: number[]): Cjt188Frame {
  return { meterType: 0x30, address: ADDR, control: 0x81, di: 0x901f, ser: 1, payload: Uint8Array.from(payload) };
}

const CLOCK_LE = [0x31, 0x01, 0x22, 0x11, 0x05, 0x15, 0x20]; // 2015-05-11 22:01:31
const vol = (bcdLe: number[], unit: number) => [...bcdLe, unit];

describe('frameToReading', () => {
  const read = (payload: number[], profile = 'cjt188-company') =>
    frameToReading(reply901F(payload), profile, { source: 'serial', receivedAt: new Date(0) });

  it('scales by unit exactly: 2C m³, 2D ×10, 2E ×100, 29 L', () => {
    const st = [0x00, 0x00];
    expect(
      read([...vol([0x45, 0x23, 0x01, 0x00], 0x2d), ...vol([0x99, 0x99, 0x99, 0x99], 0x2e), ...CLOCK_LE, ...st]),
    ).toMatchObject({
      cumulative: '1234.50',
      settlement: '99999999.00',
    });
    expect(
      read([...vol([0x01, 0x00, 0x00, 0x00], 0x29), ...vol([0x05, 0x00, 0x00, 0x00], 0x2c), ...CLOCK_LE, ...st]),
    ).toMatchObject({
      cumulative: '0.00001',
      settlement: '0.05',
    });
  });

  it('FF means no data (null, VALUE_NO_DATA); other non-decimal nibbles are VALUE_INVALID_BCD; unknown unit → UNIT_UNKNOWN', () => {
    const r = read([...vol([0xff, 0xff, 0xff, 0xff], 0x2c), ...vol([0x1a, 0, 0, 0], 0x2c), ...CLOCK_LE, 0, 0]);
    expect(r.cumulative).toBeNull();
    expect(r.settlement).toBeNull();
    expect(r.status.alarms.map((a) => a.code)).toEqual(['VALUE_NO_DATA', 'VALUE_INVALID_BCD']);
    const u = read([...vol([1, 0, 0, 0], 0x35), ...vol([1, 0, 0, 0], 0x2c), ...CLOCK_LE, 0, 0]);
    expect(u.cumulative).toBeNull();
    expect(u.settlement).toBe('0.01');
    expect(u.status.alarms).toEqual([expect.objectContaining({ code: 'UNIT_UNKNOWN', kind: 'data' })]);
  });

  it('invalid clock → null with CLOCK_INVALID (month 13, 30 Feb, 24h, bad BCD, FF)', () => {
    for (const clock of [
      [0x00, 0x00, 0x00, 0x01, 0x13, 0x24, 0x20],
      [0x00, 0x00, 0x00, 0x30, 0x02, 0x24, 0x20],
      [0x00, 0x00, 0x24, 0x01, 0x01, 0x24, 0x20],
      [0x0a, 0x00, 0x00, 0x01, 0x01, 0x24, 0x20],
      [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    ]) {
      const r = read([...vol([0, 0, 0, 0], 0x2c), ...vol([0, 0, 0, 0], 0x2c), ...clock, 0, 0]);
      expect(r.meterTime).toBeNull();
      expect(r.status.alarms.map((a) => a.code)).toContain('CLOCK_INVALID');
    }
    // 29 Feb of a leap year is fine.
    expect(
      read([...vol([0, 0, 0, 0], 0x2c), ...vol([0, 0, 0, 0], 0x2c), 0x59, 0x59, 0x23, 0x29, 0x02, 0x24, 0x20, 0, 0])
        .meterTime,
    ).toBe('2024-02-29T23:59:59');
  });

  it('reads the clock big-endian under a profile that says so', () => {
    registerProfile({ name: 'test-clock-be', diOrder: 'le', clockOrder: 'be', preamble: 2, source: 'test' });
    const r = read(
      [...vol([0, 0, 0, 0], 0x2c), ...vol([0, 0, 0, 0], 0x2c), 0x20, 0x15, 0x05, 0x11, 0x22, 0x01, 0x31, 0, 0],
      'test-clock-be',
    );
    expect(r.meterTime).toBe('2015-05-11T22:01:31');
  });

  it('decodes valve, battery and undefined status bits', () => {
    const base = [...vol([0, 0, 0, 0], 0x2c), ...vol([0, 0, 0, 0], 0x2c), ...CLOCK_LE];
    expect(read([...base, 0x00, 0x00]).status).toEqual({ valve: 'open', lowBattery: false, alarms: [] });
    expect(read([...base, 0x03, 0x00]).status).toMatchObject({
      valve: 'fault',
      alarms: [expect.objectContaining({ code: 'VALVE_FAULT' })],
    });
    expect(read([...base, 0x05, 0x00]).status).toMatchObject({
      valve: 'closed',
      lowBattery: true,
      alarms: [expect.objectContaining({ code: 'LOW_BATTERY' })],
    });
    expect(read([...base, 0x00, 0x80]).status.alarms.map((a) => a.code)).toEqual(['ST_UNDEFINED_B1_7']);
  });

  it('short 901F payloads give what they can plus PAYLOAD_SHORT, never an exception', () => {
    const r = read([...vol([0x00, 0x10, 0, 0], 0x2c)]);
    expect(r.cumulative).toBe('10.00');
    expect(r.settlement).toBeNull();
    expect(r.status.valve).toBe('unknown');
    expect(r.status.alarms.map((a) => a.code)).toEqual(['PAYLOAD_SHORT']);
  });

  it('history D120–D12B → "M-1" … "M-12"', () => {
    for (let n = 1; n <= 12; n++) {
      const bytes = buildReadReply(ADDR, 0xd120 + n - 1, 2, { value: `${n}.5` }, 'cjt188-company');
      const res = decodeFrame(bytes, 'cjt188-company');
      if (!res.ok) throw new Error(res.code);
      const r = frameToReading(res.frame, 'cjt188-company', { source: 'collector', maker: 'acme' });
      expect(r.history).toEqual({ [`M-${n}`]: `${n}.50` });
      expect(r).toMatchObject({
        cumulative: null,
        settlement: null,
        meterTime: null,
        maker: 'acme',
        source: 'collector',
        di: 0xd120 + n - 1,
      });
    }
  });

  it('historyMonthOf maps a relative key onto calendar months (across the year boundary)', () => {
    expect(historyMonthOf('M-1', '2024-01-15T00:00:00')).toBe('2023-12');
    expect(historyMonthOf('M-12', '2024-12-01T00:00:00')).toBe('2023-12');
    expect(historyMonthOf('M-3', '2024-05-31T00:00:00')).toBe('2024-02');
    expect(historyMonthOf('M-13', '2024-05-31T00:00:00')).toBeNull();
  });

  it('refuses frames that are not read replies', () => {
    const valve = decodeFrame(buildValveReply(ADDR, 1, { valve: 'open' }, 'cjt188-company'), 'cjt188-company');
    if (!valve.ok) throw new Error(valve.code);
    expect(() => frameToReading(valve.frame, 'cjt188-company', { source: 'serial' })).toThrow(
      /TELEMETRY_NOT_A_READING/,
    );
    const request = { ...reply901F([]), control: 0x01 };
    expect(() => frameToReading(request, 'cjt188-company', { source: 'serial' })).toThrow(/TELEMETRY_NOT_A_READING/);
  });

  it('rawFrame defaults to the re-encoded frame without preamble', () => {
    const f = reply901F([...vol([0, 0, 0, 0], 0x2c), ...vol([0, 0, 0, 0], 0x2c), ...CLOCK_LE, 0, 0]);
    const r = frameToReading(f, 'cjt188-company', { source: 'serial' });
    expect(r.rawFrame).toBe(
      Buffer.from(encodeFrame(f, 'cjt188-company', { preamble: 0 }))
        .toString('hex')
        .toUpperCase(),
    );
    expect(r.receivedAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });
});
