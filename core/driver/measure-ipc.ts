/**
 * Per-call cost of the driver host: N calls of a cheap interface function through the supervised child
 * process versus the same function called in-process with koffi. Prints figures; asserts nothing.
 *
 *   npx tsx core/driver/measure-ipc.ts [N] [library]
 *
 * Default library: the kingcard stand-in if built, else the test fixture (compiled on the fly).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import koffi from 'koffi';
import { createCardDriver } from './driver-client.ts';
import { buildFixture } from './test-fixtures/build-fixture.ts';

const N = Number(process.argv[2] ?? 5000);
const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const standIn = join(root, 'plugins/kingcard/lib/linux-x64/libgascard_kingcard.so');
const library = process.argv[3] ?? (existsSync(standIn) ? standIn : buildFixture());

function stats(samplesNs: bigint[]): string {
  const us = samplesNs.map((n) => Number(n) / 1000).sort((a, b) => a - b);
  const pct = (p: number) => us[Math.min(us.length - 1, Math.floor((p / 100) * us.length))]!.toFixed(1);
  const mean = us.reduce((a, b) => a + b, 0) / us.length;
  return `mean ${mean.toFixed(1)} µs  p50 ${pct(50)}  p90 ${pct(90)}  p99 ${pct(99)}  max ${us[us.length - 1]!.toFixed(1)}`;
}

// A 4442 card image for Check4442Card, the cheapest card-data function (hex decode + checks).
const card = 'A2131091FFFF8115' + 'F'.repeat(512 - 16);

// ---- in-process koffi ------------------------------------------------------------------------------
const lib = koffi.load(library);
const version = lib.func('__stdcall', 'GasCardInterfaceVersion', 'int', ['uint8_t *', 'int32_t']);
const check = lib.func('__stdcall', 'Check4442Card', 'int', ['uint8_t *']);
const direct = (label: string, f: () => void) => {
  for (let i = 0; i < 500; i++) f();
  const s: bigint[] = [];
  for (let i = 0; i < N; i++) {
    const t = process.hrtime.bigint();
    f();
    s.push(process.hrtime.bigint() - t);
  }
  console.log(`in-process koffi  ${label.padEnd(26)} ${stats(s)}`);
};
direct('GasCardInterfaceVersion', () => {
  const b = Buffer.alloc(1024);
  version(b, b.length);
});
direct('Check4442Card', () => {
  check(Buffer.from(`${card}\0`));
});
const writeNew = lib.func('__stdcall', 'WriteNew4442Card', 'int', [
  'uint8_t *',
  'int32_t',
  'int16_t',
  'int16_t',
  'uint8_t *',
  'uint8_t *',
  'uint8_t *',
]);
direct('WriteNew4442Card', () => {
  const data = Buffer.alloc(4096),
    k1 = Buffer.alloc(64),
    k2 = Buffer.alloc(64);
  writeNew(Buffer.from('3201001\0'), 10, 1, 1, data, k1, k2);
  data.toString('latin1', 0, data.indexOf(0));
});

// ---- through the driver host ----------------------------------------------------------------------
const d = createCardDriver({ libraryPath: library, maxQueue: N + 1 });
await d.info();
const viaHost = async (label: string, fn: string, params: Record<string, unknown>) => {
  for (let i = 0; i < 500; i++) await d.invoke(fn, params);
  const s: bigint[] = [];
  const inLib: number[] = [];
  for (let i = 0; i < N; i++) {
    const t = process.hrtime.bigint();
    const r = await d.invoke(fn, params);
    s.push(process.hrtime.bigint() - t);
    inLib.push(r.$ms ?? 0);
  }
  const libMean = (inLib.reduce((a, b) => a + b, 0) / inLib.length) * 1000;
  console.log(
    `driver host       ${label.padEnd(26)} ${stats(s)}  (host-side call incl. guard checks: ${libMean.toFixed(1)} µs)`,
  );
};
await viaHost('GasCardInterfaceVersion', 'GasCardInterfaceVersion', {});
await viaHost('Check4442Card', 'Check4442Card', { source: card });
// A realistic card call: three guarded output buffers (4096 + 64 + 64) and a 512-hex result.
await viaHost('WriteNew4442Card', 'WriteNew4442Card', { kh: '3201001', ql: 10, cs: 1, klx: 1 });

// Many callers at once: the queue serialises them; throughput is what one host can do.
const t0 = process.hrtime.bigint();
await Promise.all(Array.from({ length: N }, () => d.invoke('Check4442Card', { source: card })));
const totalMs = Number(process.hrtime.bigint() - t0) / 1e6;
console.log(
  `driver host       ${'Check4442Card, N queued'.padEnd(26)} ${(N / (totalMs / 1000)).toFixed(0)} calls/s (${((totalMs * 1000) / N).toFixed(1)} µs/call)`,
);

const h = d.health();
console.log(
  `\nN=${N}, library=${library}, node ${process.version} ${process.arch}, host restarts=${h.restarts}, calls=${h.calls}`,
);
await d.close();
