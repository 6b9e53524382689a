import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  buildReadReply,
  buildReadRequest,
  decodeFrame,
  frameToReading,
  getProfile,
  toHex,
  validateProfile,
} from '../../../core/telemetry/index.ts';

describe('Chint dialect profile (data only)', () => {
  it('is valid data and is loaded by the registry', () => {
    const json = JSON.parse(readFileSync(new URL('./chint.profile.json', import.meta.url), 'utf8'));
    expect(validateProfile(json, 'chint.profile.json').name).toBe('chint');
    expect(getProfile('chint')).toMatchObject({
      maker: 'chint',
      diOrder: 'le',
      clockOrder: 'le',
      preamble: 4,
      errorReply: 'ser-st',
    });
  });

  it('marks every unconfirmed setting as an assumption', () => {
    const p = getProfile('chint');
    for (const key of ['diOrder', 'clockOrder', 'preamble', 'errorReply']) {
      expect(p.assumptions!.some((a) => a.includes(key))).toBe(true);
    }
    expect(p.statusBits!.every((b) => b.assumption === true)).toBe(true);
  });

  it('requests use 4×FE and DI 1F 90', () => {
    expect(toHex(buildReadRequest('12345678901234', 0x901f, 0, 'chint'), ' ')).toMatch(
      /^FE FE FE FE 68 30 34 12 90 78 56 34 12 01 03 1F 90 00 /,
    );
  });

  it('readings carry maker chint and Chint status meanings flagged as to-confirm', () => {
    const bytes = buildReadReply(
      '12345678901234',
      0x901f,
      7,
      {
        cumulative: '1.23',
        settlement: '1.00',
        meterTime: '2024-06-30T08:00:00',
        status: { valve: 'closed', alarms: ['MAGNETIC_ATTACK'] },
      },
      'chint',
    );
    const res = decodeFrame(bytes, 'chint');
    if (!res.ok) throw new Error(res.code);
    expect(res.frame.payload[18]).toBe(0x08); // ST byte 2, D3
    const r = frameToReading(res.frame, 'chint', { source: 'collector' });
    expect(r.maker).toBe('chint');
    expect(r.status.valve).toBe('closed');
    expect(r.status.alarms).toEqual([
      {
        code: 'MAGNETIC_ATTACK',
        zh: '磁干扰（磁攻击）（待厂家确认）',
        en: 'Magnetic tampering (assumed, to confirm with maker)',
        kind: 'meter',
      },
    ]);
  });
});
