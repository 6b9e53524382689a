import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  FrameStreamDecoder,
  buildReadReply,
  checksum,
  decodeFrame,
  encodeFrame,
  frameToReading,
  getProfile,
  toHex,
  type Cjt188Frame,
  type DialectProfile,
} from './index.ts';

const PROFILES = ['cjt188-company', 'le', 'be', 'chint'];

const address = fc.oneof(fc.stringMatching(/^[0-9]{14}$/), fc.constant('AAAAAAAAAAAAAA'));

/** Any frame the wire can carry under the profile (see encodeFrame's layout rules). */
function frameArb(profile: DialectProfile): fc.Arbitrary<Cjt188Frame> {
  return fc
    .record({
      meterType: fc.integer({ min: 0, max: 255 }),
      address,
      control: fc.integer({ min: 0, max: 255 }),
      di: fc.integer({ min: 0, max: 0xffff }),
      ser: fc.integer({ min: 0, max: 255 }),
      payload: fc.uint8Array({ maxLength: 60 }),
      withHead: fc.boolean(),
    })
    .map(({ withHead, di, ser, payload, ...rest }) => {
      const layout = rest.control & 0x40 ? (profile.errorReply ?? 'di-ser-st') : 'di-ser-st';
      if (layout === 'di-ser-st')
        return withHead ? { ...rest, di, ser, payload } : { ...rest, payload: payload.subarray(0, 2) };
      if (layout === 'ser-st') return withHead ? { ...rest, ser, payload } : { ...rest, payload: new Uint8Array(0) };
      return { ...rest, payload };
    });
}

const profileAndFrame = fc.constantFrom(...PROFILES).chain((name) => {
  const p = getProfile(name);
  return fc.tuple(fc.constant(p), frameArb(p), fc.integer({ min: 0, max: 6 }));
});

const plain = (f: Cjt188Frame) => ({ ...f, payload: Array.from(f.payload) });

/** Feeds bytes in random-sized chunks, then flushes; returns every event in order. */
function feed(bytes: Uint8Array, cuts: number[], profile: DialectProfile) {
  const events: Array<
    { kind: 'frame'; raw: string; offset: number } | { kind: 'error'; code: string; offset: number }
  > = [];
  const d = new FrameStreamDecoder({
    profile,
    onFrame: (e) => events.push({ kind: 'frame', raw: toHex(e.raw), offset: e.streamOffset }),
    onError: (e) => events.push({ kind: 'error', code: e.code, offset: e.streamOffset }),
  });
  let at = 0;
  for (const c of cuts) {
    const next = Math.min(bytes.length, at + c);
    d.push(bytes.subarray(at, next));
    at = next;
  }
  d.push(bytes.subarray(at));
  d.flush();
  return events;
}

// Noise rich in the bytes that matter to framing.
const noise = fc
  .array(fc.oneof(fc.constantFrom(0x68, 0x16, 0xfe), fc.integer({ min: 0, max: 255 })), { maxLength: 80 })
  .map((a) => Uint8Array.from(a));
const cuts = fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 20 });

describe('codec properties (fast-check)', () => {
  it('decode(encode(x)) = x for arbitrary valid frames, one-shot and streamed', () => {
    fc.assert(
      fc.property(profileAndFrame, cuts, ([profile, frame, pre], cs) => {
        const bytes = encodeFrame(frame, profile, { preamble: pre });
        const res = decodeFrame(bytes, profile);
        expect(res.ok).toBe(true);
        if (!res.ok) return;
        expect(plain(res.frame)).toEqual(plain(frame));
        const events = feed(bytes, cs, profile);
        expect(events).toEqual([{ kind: 'frame', raw: toHex(bytes.subarray(pre)), offset: pre }]);
      }),
      { numRuns: 500 },
    );
  });

  it('random bytes never make the decoder throw, and every frame it emits verifies', () => {
    fc.assert(
      fc.property(fc.constantFrom(...PROFILES), fc.uint8Array({ maxLength: 600 }), cuts, (name, bytes, cs) => {
        const profile = getProfile(name);
        expect(() => decodeFrame(bytes, profile)).not.toThrow();
        const frames: Uint8Array[] = [];
        const d = new FrameStreamDecoder({ profile, onFrame: (e) => frames.push(e.raw), onError: () => {} });
        let at = 0;
        for (const c of cs) {
          d.push(bytes.subarray(at, at + c));
          at = Math.min(bytes.length, at + c);
        }
        d.push(bytes.subarray(at));
        d.flush();
        expect(d.buffered).toBe(0);
        for (const raw of frames) {
          expect(raw[0]).toBe(0x68);
          expect(raw.length).toBe(13 + raw[10]!);
          expect(raw[raw.length - 2]).toBe(checksum(raw, 0, raw.length - 2));
          expect(raw[raw.length - 1]).toBe(0x16);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('random bytes mixed with 68/16/FE never throw either (biased stream)', () => {
    fc.assert(
      fc.property(fc.array(noise, { maxLength: 10 }), cuts, (parts, cs) => {
        const bytes = Uint8Array.from(parts.flatMap((p) => Array.from(p)));
        expect(() => feed(bytes, cs, getProfile('cjt188-company'))).not.toThrow();
      }),
    );
  });

  it('a valid frame surrounded by noise (incl. 68, 16, FE) is found, unless the noise itself forms a valid frame across it', () => {
    fc.assert(
      fc.property(profileAndFrame, noise, noise, cuts, ([profile, frame, pre], before, after, cs) => {
        const f = encodeFrame(frame, profile, { preamble: pre });
        const bytes = Uint8Array.from([...before, ...f, ...after]);
        const start = before.length + pre;
        const end = before.length + f.length;
        const events = feed(bytes, cs, profile);
        const want = toHex(f.subarray(pre));
        const found = events.some((e) => e.kind === 'frame' && e.offset === start && e.raw === want);
        if (!found) {
          // The only way to miss it: a frame that really verifies starts in the noise and overlaps ours.
          const overlapping = events.some(
            (e) => e.kind === 'frame' && e.offset < start && e.offset + e.raw.length / 2 > start,
          );
          expect(overlapping).toBe(true);
        }
        // Chunking never changes the outcome.
        expect(feed(bytes, [], profile)).toEqual(events);
        expect(end).toBeLessThanOrEqual(bytes.length);
      }),
      { numRuns: 1000 },
    );
  });

  it('volumes survive encode → decode exactly for every unit (no floats)', () => {
    const units: Array<[number, number]> = [
      [0x29, -3],
      [0x2a, -2],
      [0x2b, -1],
      [0x2c, 0],
      [0x2d, 1],
      [0x2e, 2],
    ];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 99_999_999 }), fc.constantFrom(...units), (cents, [unit, exp]) => {
        // Independent oracle: BigInt in units of 1e-5 m³.
        const e5 = BigInt(cents) * 10n ** BigInt(exp + 3);
        const int = e5 / 100_000n;
        let frac = (e5 % 100_000n).toString().padStart(5, '0').replace(/0+$/, '');
        frac = frac.padEnd(2, '0');
        const expected = `${int}.${frac}`;
        // The reply builder takes m³; feed it the oracle value so it has to scale back to the same BCD.
        const bytes = buildReadReply('12345678901234', 0xd123, 1, { value: expected, unit }, 'cjt188-company');
        const res = decodeFrame(bytes, 'cjt188-company');
        if (!res.ok) throw new Error(res.code);
        expect(res.frame.payload[4]).toBe(unit);
        const digits = toHex(res.frame.payload.subarray(0, 4).slice().reverse());
        expect(Number(digits)).toBe(cents);
        expect(frameToReading(res.frame, 'cjt188-company', { source: 'mqtt' }).history).toEqual({ 'M-4': expected });
      }),
      { numRuns: 500 },
    );
  });
});
