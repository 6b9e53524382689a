/**
 * Decode rate: CJ/T 188 901F replies (4×FE preamble) through the streaming decoder, and on to
 * UnifiedReadings. Bound measured in the same run: one pass over the same bytes doing only the
 * checksum arithmetic the decoder must do anyway (the cost floor of touching every byte once).
 * Context: one 2400 8E1 bus carries at most ≈ 3.7 such exchanges per second.
 */
import {
  DI,
  FrameStreamDecoder,
  buildReadReply,
  frameToReading,
  type DecodedFrameEvent,
} from '../core/telemetry/index.ts';
import { fmt, writeSection } from './telemetry-results.ts';
import { bundledPluginProfiles } from '../core/plugins/plugin-profiles.ts';

// The bench's own registry: every bundled dialect whatever ops enabled; the measured dialect is resolved once.
const chint = bundledPluginProfiles().get('chint');

// Frames decoded (a multiple of 1000): `npx tsx bench/telemetry-decode.ts [200000]`.
const N = Math.max(1000, Math.round(Number(process.argv[2] ?? 200_000) / 1000) * 1000);
const frames: Uint8Array[] = [];
for (let i = 0; i < 1000; i++) {
  frames.push(
    buildReadReply(
      `30${String(i).padStart(12, '0')}`,
      DI.CURRENT,
      i & 0xff,
      {
        cumulative: `${1000 + i}.${String(i % 100).padStart(2, '0')}`,
        settlement: '1000.00',
        meterTime: '2025-03-04T05:06:07',
        status: { valve: 'open' },
      },
      chint,
    ),
  );
}
// One big stream cut into 4 KiB chunks, as a serial or MQTT reader would hand it over.
const total = frames.reduce((n, f) => n + f.length, 0);
const stream = new Uint8Array(total * (N / 1000));
for (let r = 0, o = 0; r < N / 1000; r++)
  for (const f of frames) {
    stream.set(f, o);
    o += f.length;
  }
const chunks: Uint8Array[] = [];
for (let o = 0; o < stream.length; o += 4096) chunks.push(stream.subarray(o, o + 4096));

function timeIt(fn: () => number): { ms: number; n: number } {
  fn(); // warm-up
  const t0 = performance.now();
  const n = fn();
  return { ms: performance.now() - t0, n };
}

const floor = timeIt(() => {
  let s = 0;
  for (const c of chunks) for (let i = 0; i < c.length; i++) s = (s + c[i]!) & 0xff;
  return s >= 0 ? N : 0;
});
const decode = timeIt(() => {
  let n = 0;
  const d = new FrameStreamDecoder({
    profile: chint,
    onFrame: () => {
      n++;
    },
  });
  for (const c of chunks) d.push(c);
  d.flush();
  return n;
});
const toReading = timeIt(() => {
  const evs: DecodedFrameEvent[] = [];
  const d = new FrameStreamDecoder({
    profile: chint,
    onFrame: (ev) => {
      if (evs.length < 50_000) evs.push(ev);
    },
  });
  for (const c of chunks) d.push(c);
  let n = 0;
  const receivedAt = new Date().toISOString();
  for (const ev of evs) {
    frameToReading(ev.frame, chint, { source: 'mqtt', raw: ev.raw, receivedAt });
    n++;
  }
  return n;
});
if (decode.n !== N) throw new Error(`decoded ${decode.n} of ${N}`);
const perSec = (r: { ms: number; n: number }) => (r.n / r.ms) * 1000;
const decodeRate = perSec(decode);
const floorRate = perSec(floor);
const bytesPerFrame = stream.length / N;
const wireRate = 2400 / 11 / (20 + bytesPerFrame);
console.log(
  `decode ${fmt(decodeRate)} frames/s (${fmt(stream.length / decode.ms / 1000, 1)} MB/s); byte-pass floor ${fmt(floorRate)} frames/s; frame→reading ${fmt(perSec(toReading))} /s`,
);
writeSection('decode', {
  title: 'Decode rate / 解码速率',
  rows: [
    {
      metric: 'stream decode (901F, 4×FE, 4 KiB chunks)',
      value: `${fmt(decodeRate)} frames/s`,
      bound: `${fmt(floorRate)} frames/s (one checksum pass over the same bytes)`,
      ratio: (decodeRate / floorRate).toFixed(2),
    },
    {
      metric: 'decode + frameToReading',
      value: `${fmt(perSec(toReading))} readings/s`,
      bound: `${fmt(decodeRate)} frames/s (decode alone)`,
      ratio: (perSec(toReading) / decodeRate).toFixed(2),
    },
    {
      metric: 'what one 2400 8E1 bus can carry',
      value: `${fmt(wireRate, 1)} exchanges/s`,
      bound: 'computed: 218 chars/s ÷ (20 + reply bytes)',
      note: `decoder headroom ≈ ${fmt(decodeRate / wireRate)}× per bus`,
    },
  ],
  data: {
    frames: N,
    bytes: stream.length,
    decodeMs: decode.ms,
    floorMs: floor.ms,
    toReadingMs: toReading.ms,
    toReadingN: toReading.n,
    decodeRate,
    floorRate,
  },
});
