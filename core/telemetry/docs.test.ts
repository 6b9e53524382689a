import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeFrame, frameToReading, fromHex } from './index.ts';

// Every complete frame quoted in docs/protocol/wire.md must be what the codec says it is.
const wire = readFileSync(new URL('../../docs/protocol/wire.md', import.meta.url), 'utf8');
const frames = [...wire.matchAll(/\b((?:[0-9A-F]{2} ){15,}[0-9A-F]{2})\b/g)].map((m) => m[1]!);
const PUBLISHED =
  '68 10 44 33 22 11 00 33 78 81 16 1F 90 00 00 77 66 55 2C 00 77 66 55 2C 31 01 22 11 05 15 20 21 84 08 16';

describe('docs/protocol/wire.md worked examples', () => {
  it('quotes at least the ten example frames', () => {
    expect(frames.length).toBeGreaterThanOrEqual(10);
  });

  it.each(frames)('%s', (hex) => {
    const res = decodeFrame(fromHex(hex), 'cjt188-company');
    if (hex === PUBLISHED) {
      expect(res.ok || res.code).toBe('FRAME_CHECKSUM');
      return;
    }
    expect(res.ok || res.code).toBe(true);
  });

  it('the 901F example reads as documented', () => {
    const hex = frames.find((f) => f.includes('81 16 1F 90 01'))!;
    const res = decodeFrame(fromHex(hex), 'cjt188-company');
    if (!res.ok) throw new Error(res.code);
    const r = frameToReading(res.frame, 'cjt188-company', { source: 'serial' });
    expect(r).toMatchObject({
      cumulative: '1234.56',
      settlement: '1200.00',
      meterTime: '2024-06-30T08:15:42',
      status: { valve: 'open', lowBattery: true },
    });
  });
});
