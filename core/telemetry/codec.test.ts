import { describe, expect, it } from 'vitest';
import {
  buildErrorReply,
  buildReadAddressReply,
  buildReadAddressRequest,
  buildReadReply,
  buildReadRequest,
  buildValveCommand,
  buildValveReply,
  checksum,
  decodeFrame,
  encodeFrame,
  frameStatus,
  frameToReading,
  fromHex,
  toHex,
  DI,
} from './index.ts';

// hftangyu.com/563.html via reference §1.8: as published, the checksum byte (08) does not verify.
const PUBLISHED =
  '68 10 44 33 22 11 00 33 78 81 16 1F 90 00 00 77 66 55 2C 00 77 66 55 2C 31 01 22 11 05 15 20 21 84 08 16';

describe('published sample frame (reference §1.8)', () => {
  it('is rejected as a checksum error as published', () => {
    const bytes = fromHex(PUBLISHED);
    let sum = 0;
    for (let i = 0; i < bytes.length - 2; i++) sum += bytes[i]!;
    expect(sum & 0xff).toBe(0x13);
    const res = decodeFrame(bytes, 'le');
    expect(res.ok).toBe(false);
    if (!res.ok) {
      expect(res.code).toBe('FRAME_CHECKSUM');
      expect(res.error.details).toMatchObject({ expected: 0x13, actual: 0x08 });
    }
  });

  it('decodes with the checksum corrected to 556677.00 m³ at 2015-05-11 22:01:31 (le profile)', () => {
    const bytes = fromHex(PUBLISHED);
    bytes[bytes.length - 2] = 0x13;
    const res = decodeFrame(bytes, 'le');
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.frame).toMatchObject({ meterType: 0x10, address: '78330011223344', control: 0x81, di: 0x901f, ser: 0 });
    const r = frameToReading(res.frame, 'le', {
      source: 'serial',
      receivedAt: '2024-03-01T00:00:00.000Z',
      raw: res.raw,
    });
    expect(r.meterId).toBe('78330011223344');
    expect(r.cumulative).toBe('556677.00');
    expect(r.settlement).toBe('556677.00');
    expect(r.meterTime).toBe('2015-05-11T22:01:31');
    expect(r.status.valve).toBe('closed'); // ST byte 1 = 21H: D1D0 = 01
    expect(r.status.lowBattery).toBe(false);
    expect(r.rawStatus).toBe('2184');
    expect(r.rawFrame).toBe(toHex(bytes));
  });

  it('under the be profile the same bytes carry DI 1F90, not 901F, so they are no reading', () => {
    const bytes = fromHex(PUBLISHED);
    bytes[bytes.length - 2] = 0x13;
    const res = decodeFrame(bytes, 'be');
    expect(res.ok && res.frame.di).toBe(0x1f90);
    if (res.ok) expect(() => frameToReading(res.frame, 'be', { source: 'serial' })).toThrow(/TELEMETRY_NOT_A_READING/);
  });
});

describe('one-shot decode errors never throw', () => {
  const good = buildReadRequest('12345678901234', DI.CURRENT, 7, 'cjt188-company', { preamble: 0 });
  it.each([
    ['empty', new Uint8Array(0), 'FRAME_NO_START'],
    ['only preamble', fromHex('FE FE FE'), 'FRAME_NO_START'],
    ['only noise', fromHex('00 FF 13'), 'FRAME_NO_START'],
    // Noise is skipped like in the stream decoder (wire.md §1): what is left is a 68 without its header.
    ['noise before a lone 68', fromHex('00 68'), 'FRAME_TRUNCATED'],
    ['short header', good.subarray(0, 8), 'FRAME_TRUNCATED'],
    ['short body', good.subarray(0, good.length - 1), 'FRAME_TRUNCATED'],
    ['trailing bytes', Uint8Array.from([...good, 0x00]), 'FRAME_LENGTH'],
    ['bad end', Uint8Array.from([...good.subarray(0, good.length - 1), 0x17]), 'FRAME_END'],
  ])('%s → %s', (_name, bytes, code) => {
    const res = decodeFrame(bytes, 'cjt188-company');
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.code).toBe(code);
  });

  it('accepts any number of FE before the frame', () => {
    for (const n of [0, 1, 2, 3, 4, 9]) {
      const res = decodeFrame(Uint8Array.from([...new Array(n).fill(0xfe), ...good]), 'cjt188-company');
      expect(res.ok && res.offset).toBe(n);
    }
  });
});

describe('request builders (byte-exact, checksums computed by hand)', () => {
  it('901F read, company profile: 4×FE, DI little-endian', () => {
    // 68+30+44+33+22+11+00+33+78+01+03+1F+90+00 = 0x2A0 → CS A0
    expect(toHex(buildReadRequest('78330011223344', 0x901f, 0, 'cjt188-company'), ' ')).toBe(
      'FE FE FE FE 68 30 44 33 22 11 00 33 78 01 03 1F 90 00 A0 16',
    );
  });
  it('901F read, be profile: DI big-endian', () => {
    expect(toHex(buildReadRequest('78330011223344', 0x901f, 0, 'be', { preamble: 0 }), ' ')).toBe(
      '68 30 44 33 22 11 00 33 78 01 03 90 1F 00 A0 16',
    );
  });
  it('valve close and open (04H, A017, 99H/55H)', () => {
    expect(toHex(buildValveCommand('78330011223344', 'close', 1, 'cjt188-company', { preamble: 0 }), ' ')).toBe(
      '68 30 44 33 22 11 00 33 78 04 04 17 A0 01 99 46 16',
    );
    expect(toHex(buildValveCommand('78330011223344', 'open', 1, 'cjt188-company', { preamble: 0 }), ' ')).toBe(
      '68 30 44 33 22 11 00 33 78 04 04 17 A0 01 55 02 16',
    );
  });
  it('read address with AA wildcard (03H, DI 810A)', () => {
    expect(toHex(buildReadAddressRequest(0, 'cjt188-company', { preamble: 0 }), ' ')).toBe(
      '68 AA AA AA AA AA AA AA AA 03 03 0A 81 00 49 16',
    );
    const res = decodeFrame(buildReadAddressRequest(0, 'cjt188-company'), 'cjt188-company');
    expect(res.ok && res.frame.address).toBe('AAAAAAAAAAAAAA');
  });
  it('rejects bad addresses, DIs and actions with stable codes', () => {
    expect(() => buildReadRequest('1234', 0x901f, 0, 'cjt188-company')).toThrow(/TELEMETRY_BAD_ADDRESS/);
    expect(() => buildReadRequest('1234567890123A', 0x901f, 0, 'cjt188-company')).toThrow(/TELEMETRY_BAD_ADDRESS/);
    expect(() => buildReadRequest('12345678901234', 0x1_0000, 0, 'cjt188-company')).toThrow(/TELEMETRY_BAD_DI/);
    expect(() => buildValveCommand('12345678901234', 'half' as 'open', 0, 'cjt188-company')).toThrow(
      /TELEMETRY_BAD_VALUE/,
    );
    expect(() => buildReadRequest('12345678901234', 0x901f, 0, 'nope')).toThrow(/TELEMETRY_PROFILE_UNKNOWN/);
  });
});

describe('reply builders round-trip through the decoder', () => {
  it('901F reply rebuilds the published sample exactly (with the correct checksum)', () => {
    const bytes = buildReadReply(
      '78330011223344',
      0x901f,
      0,
      { cumulative: '556677.00', settlement: '556677', meterTime: '2015-05-11T22:01:31', status: [0x21, 0x84] },
      'le',
      { meterType: 0x10, preamble: 0 },
    );
    const expected = fromHex(PUBLISHED);
    expected[expected.length - 2] = 0x13;
    expect(toHex(bytes)).toBe(toHex(expected));
  });

  it('valve reply carries ST and frameStatus reads it', () => {
    const res = decodeFrame(
      buildValveReply('12345678901234', 3, { valve: 'closed' }, 'cjt188-company'),
      'cjt188-company',
    );
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.frame).toMatchObject({ control: 0x84, di: DI.VALVE, ser: 3 });
    expect(frameStatus(res.frame, 'cjt188-company')?.valve).toBe('closed');
  });

  it('error reply layout follows the profile: company DI+SER+ST, le SER+ST', () => {
    const company = buildErrorReply('12345678901234', 0x04, DI.VALVE, 9, { valve: 'fault' }, 'cjt188-company', {
      preamble: 0,
    });
    expect(toHex(company.subarray(9, 16), ' ')).toBe('C4 05 17 A0 09 03 00');
    const c = decodeFrame(company, 'cjt188-company');
    expect(c.ok && c.frame).toMatchObject({ di: DI.VALVE, ser: 9 });
    if (c.ok) expect(frameStatus(c.frame, 'cjt188-company')).toMatchObject({ valve: 'fault' });

    const le = buildErrorReply('12345678901234', 0x01, DI.CURRENT, 9, { lowBattery: true }, 'le', { preamble: 0 });
    expect(toHex(le.subarray(9, 14), ' ')).toBe('C1 03 09 04 00');
    const l = decodeFrame(le, 'le');
    expect(l.ok && l.frame.di).toBeUndefined();
    expect(l.ok && l.frame.ser).toBe(9);
    if (l.ok) expect(frameStatus(l.frame, 'le')).toMatchObject({ valve: 'open', lowBattery: true });
  });

  it('read-address reply carries the address in the header', () => {
    const res = decodeFrame(buildReadAddressReply('00000012345678', 0, 'cjt188-company'), 'cjt188-company');
    expect(res.ok && res.frame).toMatchObject({ address: '00000012345678', control: 0x83, di: DI.ADDRESS });
  });

  it('encodeFrame refuses frames that would decode differently', () => {
    const base = { meterType: 0x30, address: '12345678901234', control: 0x81, payload: new Uint8Array(3) };
    expect(() => encodeFrame(base, 'cjt188-company')).toThrow(/TELEMETRY_BAD_FRAME/);
    expect(() => encodeFrame({ ...base, control: 0xc1, di: 0x901f, ser: 1 }, 'le')).toThrow(/TELEMETRY_BAD_FRAME/);
    expect(() => encodeFrame({ ...base, payload: new Uint8Array(253), di: 1, ser: 1 }, 'cjt188-company')).toThrow(
      /TELEMETRY_BAD_FRAME/,
    );
  });

  it('checksum is sum mod 256', () => {
    expect(checksum(Uint8Array.of(0xff, 0x02))).toBe(0x01);
  });
});
