import { describe, expect, it } from 'vitest';
import {
  FrameStreamDecoder,
  buildReadReply,
  buildReadRequest,
  decodeAll,
  fromHex,
  toHex,
  type DecodedFrameEvent,
  type FrameErrorEvent,
} from './index.ts';

function collect(profile = 'cjt188-company', maxDataLength?: number) {
  const frames: DecodedFrameEvent[] = [];
  const errors: FrameErrorEvent[] = [];
  const d = new FrameStreamDecoder({
    profile,
    onFrame: (e) => frames.push(e),
    onError: (e) => errors.push(e),
    ...(maxDataLength ? { maxDataLength } : {}),
  });
  return { d, frames, errors };
}

const reply = buildReadReply(
  '00000012345678',
  0x901f,
  5,
  { cumulative: '12.34', settlement: '10.00', meterTime: '2024-02-29T23:59:59', status: { valve: 'open' } },
  'cjt188-company',
);

describe('FrameStreamDecoder', () => {
  it('reassembles a frame delivered one byte at a time', () => {
    const { d, frames, errors } = collect();
    for (const b of reply) d.push(Uint8Array.of(b));
    expect(frames).toHaveLength(1);
    expect(errors).toHaveLength(0);
    expect(frames[0]!.frame.di).toBe(0x901f);
    expect(frames[0]!.streamOffset).toBe(4); // after 4×FE
    expect(d.buffered).toBe(0);
  });

  it('reports a corrupt frame, skips one byte and finds the next frame', () => {
    const bad = reply.slice();
    bad[20] = bad[20]! ^ 0xff; // inside DATA → checksum fails
    const { d, frames, errors } = collect();
    d.push(Uint8Array.from([...bad, ...reply]));
    expect(errors.map((e) => e.code)).toEqual(['FRAME_CHECKSUM']);
    expect(errors[0]!.streamOffset).toBe(4);
    expect(errors[0]!.error.code).toBe('FRAME_CHECKSUM');
    expect(frames).toHaveLength(1);
    expect(frames[0]!.streamOffset).toBe(bad.length + 4);
  });

  it('reports a wrong end byte as FRAME_END', () => {
    const bad = reply.slice();
    bad[bad.length - 1] = 0x17;
    const out = decodeAll(bad, 'cjt188-company');
    expect(out.map((e) => (e.type === 'error' ? e.code : 'frame'))).toEqual(['FRAME_END']);
  });

  it('rejects an over-long L at once when maxDataLength is set (FRAME_LENGTH)', () => {
    const { d, frames, errors } = collect('cjt188-company', 64);
    d.push(fromHex('68 30 00 00 00 00 00 00 00 81 C8'));
    d.push(reply);
    expect(errors.map((e) => e.code)).toEqual(['FRAME_LENGTH']);
    expect(frames).toHaveLength(1);
  });

  it('flush() drops a stray 68 announcing a frame that never comes and salvages the frame behind it', () => {
    const { d, frames, errors } = collect();
    // A stray 68 whose "L" (C8 = 200) makes the decoder wait for 213 bytes.
    d.push(fromHex('68 30 00 00 00 00 00 00 00 81 C8'));
    d.push(reply);
    expect(frames).toHaveLength(0);
    d.flush();
    expect(errors.map((e) => e.code)).toEqual(['FRAME_TRUNCATED']);
    expect(frames).toHaveLength(1);
    expect(toHex(frames[0]!.raw)).toBe(toHex(reply.subarray(4)));
  });

  it('counts noise and preamble without reporting them', () => {
    const { d, frames, errors } = collect();
    d.push(Uint8Array.from([0x00, 0x11, 0x16, ...reply, 0x22]));
    expect(frames).toHaveLength(1);
    expect(errors).toHaveLength(0);
    expect(d.stats).toMatchObject({ frames: 1, noiseBytes: 4, preambleBytes: 4 });
  });

  it('a throwing callback loses and duplicates nothing', () => {
    const seen: number[] = [];
    const d = new FrameStreamDecoder({
      profile: 'cjt188-company',
      onFrame: (e) => {
        seen.push(e.frame.ser!);
        if (e.frame.ser === 1) throw new Error('consumer bug');
      },
    });
    const f = (ser: number) => buildReadRequest('12345678901234', 0x901f, ser, 'cjt188-company');
    expect(() => d.push(Uint8Array.from([...f(1), ...f(2)]))).toThrow('consumer bug');
    d.push(f(3));
    expect(seen).toEqual([1, 2, 3]);
  });

  it('frames decoded from the internal buffer keep their bytes after more input arrives', () => {
    const { d, frames } = collect();
    d.push(reply.subarray(0, 10));
    d.push(reply.subarray(10));
    const copy = toHex(frames[0]!.raw);
    for (let i = 0; i < 50; i++) d.push(reply);
    expect(toHex(frames[0]!.raw)).toBe(copy);
    expect(frames).toHaveLength(51);
  });
});
