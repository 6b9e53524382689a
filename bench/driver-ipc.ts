/**
 * Driver-call IPC against its fair floor (issue 17): `npx tsx bench/driver-ipc.ts [--calls 5000] [--rounds 3]`.
 *
 * Crash isolation costs a round trip between two Node processes; in-process koffi is not a fair baseline.
 * In the same run, alternating:
 *   - the real path: CardDriver.buy('4442') → supervisor → bundled driver host → koffi → kingcard stand-in (替身库);
 *   - the floor: core/driver/echo-peer.ts, a bundled Node child on the same kind of pipe speaking the same
 *     protocol module (request lines, FRAME_MARKER frames, encodeJson), answering each Buy request with the
 *     Buy result of the real host (same bytes both ways), driven by the least possible client (echo-client.ts);
 *   - the stand-in's Buy4442Card in-process through koffi (the library's own time, subtracted from the real path).
 * IPC per call = driver-host Buy − in-process Buy. Ratio = IPC per call / echo per call; target ≤ 2×.
 * Sequential (one caller: what a clerk's sale waits for) and pipelined (64 callers, the supervisor's default
 * 16 written ahead; the echo client keeps the same 16 in flight). Each figure is the median of its rounds.
 * Under bench/run-all.ts the figures also go to $METERHUB_BENCH_OUT.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import koffi from 'koffi';
import { createCardDriver } from '../core/driver/driver-client.ts';
import { bundledHostFor } from '../core/driver/host-bundle.ts';
import { DEFAULT_HOST_ENTRY } from '../core/driver/supervisor.ts';
import { startEchoPeer } from '../core/driver/echo-client.ts';
import { meterWriteBack, standInLibraryPath } from '../core/testing/stand-in-meter.ts';

const MAKER = 'kingcard';
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const CALLS = arg('calls', 5000);
// A/B of host flags in the same run: `--host-flags-b "--lite-mode"` measures a second host started with them.
const flagsB = (() => {
  const i = process.argv.indexOf('--host-flags-b');
  return i >= 0 ? process.argv[i + 1]!.split(' ').filter(Boolean) : undefined;
})();
const ROUNDS = arg('rounds', 3);
const PIPELINE_CALLERS = 64;
const ECHO_WINDOW = 16; // the supervisor's DEFAULT_PIPELINE_DEPTH
const TARGET = 2;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const us = (ms: number) => +(ms * 1000).toFixed(2);

// A ready card, as a sale sees it (issued, then read back by a meter).
const lib = koffi.load(standInLibraryPath(MAKER));
const writeNew = lib.func(
  'int WriteNew4442Card(const char *kh, int ql, int16_t cs, int16_t klx, _Out_ uint8_t *data, _Out_ uint8_t *oldKey, _Out_ uint8_t *newKey)',
);
const buf = Buffer.alloc(4096);
writeNew('12345678', 0, 1, 1, buf, Buffer.alloc(64), Buffer.alloc(64));
const cardNo = '12345678';
const card = meterWriteBack(MAKER, '4442', buf.subarray(0, buf.indexOf(0)).toString('ascii'));
const buyParams = { source: card, kh: cardNo, ql: 20, cs: 2 };

function koffiBuyMs(n: number): number {
  const buy = lib.func(
    'int Buy4442Card(const char *source, const char *kh, int ql, int16_t cs, _Out_ uint8_t *dest, _Out_ uint8_t *oldKey, _Out_ uint8_t *newKey)',
  );
  const dest = Buffer.alloc(4096);
  const k1 = Buffer.alloc(64);
  const k2 = Buffer.alloc(64);
  for (let i = 0; i < 2000; i++) buy(card, cardNo, 20, 2, dest, k1, k2);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) if (buy(card, cardNo, 20, 2, dest, k1, k2) !== 0) throw new Error('Buy failed');
  return (performance.now() - t0) / n;
}

async function sequential(n: number, call: () => Promise<unknown>) {
  for (let i = 0; i < Math.min(500, n); i++) await call();
  const lat: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    await call();
    lat.push(performance.now() - s);
  }
  const meanMs = (performance.now() - t0) / n;
  lat.sort((a, b) => a - b);
  return { meanMs, p50ms: pct(lat, 50), p99ms: pct(lat, 99) };
}

/** `callers` loops sharing n calls: per-call time of the whole batch (throughput, not latency). */
async function pipelined(n: number, callers: number, call: () => Promise<unknown>): Promise<number> {
  let left = n;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (left-- > 0) await call();
    }),
  );
  return (performance.now() - t0) / n;
}

const rssKiB = (pid: number): number | null => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  } catch {
    return null; // not Linux
  }
};

async function main() {
  const loadBefore = loadavg().map((x) => +x.toFixed(2));
  const driver = createCardDriver({ libraryPath: standInLibraryPath(MAKER), name: MAKER, maxQueue: CALLS + 1 });
  const info = await driver.info();
  // The echo answers with what the real host answers for the same request: same bytes on both pipes.
  const realReply = await driver.invoke('Buy4442Card', buyParams);
  const echo = await startEchoPeer({ reply: realReply as unknown as Record<string, unknown> });
  const buy = () => driver.buy('4442', { source: card, cardNo, gas: 20, count: 2 });
  const driverB = flagsB
    ? createCardDriver({
        libraryPath: standInLibraryPath(MAKER),
        name: `${MAKER}-b`,
        maxQueue: CALLS + 1,
        nodeFlags: flagsB,
      })
    : undefined;
  const infoB = await driverB?.info();
  const buyB = () => driverB!.buy('4442', { source: card, cardNo, gas: 20, count: 2 });
  const echoCall = () => echo.call('Buy4442Card', buyParams);
  const rounds: Array<Record<string, number>> = [];
  let rss: { a: number | null; b: number | null } | undefined;
  try {
    for (let r = 0; r < ROUNDS; r++) {
      const koffiMs = koffiBuyMs(CALLS * 4);
      const e = await sequential(CALLS, echoCall);
      const h = await sequential(CALLS, buy);
      const eP = await pipelined(CALLS, ECHO_WINDOW, echoCall);
      const hP = await pipelined(CALLS, PIPELINE_CALLERS, buy);
      const b = driverB ? await sequential(CALLS, buyB) : undefined;
      const bP = driverB ? await pipelined(CALLS, PIPELINE_CALLERS, buyB) : undefined;
      const round = {
        ...(b && bP !== undefined ? { hostBMs: b.meanMs, hostBPipelinedMs: bP } : {}),
        koffiMs,
        echoMs: e.meanMs,
        echoP50ms: e.p50ms,
        hostMs: h.meanMs,
        hostP50ms: h.p50ms,
        hostP99ms: h.p99ms,
        echoPipelinedMs: eP,
        hostPipelinedMs: hP,
      };
      rounds.push(round);
      console.error(
        `round ${r + 1}: echo ${us(e.meanMs)} µs, host Buy ${us(h.meanMs)} µs (koffi ${us(koffiMs)} µs); pipelined echo ${us(eP)} µs, host ${us(hP)} µs`,
      );
    }
    rss = { a: rssKiB(info.pid), b: infoB ? rssKiB(infoB.pid) : null };
  } finally {
    await echo.close();
    await driver.close();
    await driverB?.close();
  }
  const m = (k: string) => median(rounds.map((x) => x[k]!));
  const ipcMs = m('hostMs') - m('koffiMs');
  const ipcPipelinedMs = m('hostPipelinedMs') - m('koffiMs');
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    loadBefore,
    loadAfter: loadavg().map((x) => +x.toFixed(2)),
    calls: CALLS,
    rounds,
    hostPid: info.pid,
    hostBundled: bundledHostFor(DEFAULT_HOST_ENTRY) !== undefined,
    echoBundled: echo.bundled,
    koffiBuyMicros: us(m('koffiMs')),
    sequential: {
      hostBuyMicros: us(m('hostMs')),
      hostP50Micros: us(m('hostP50ms')),
      hostP99Micros: us(m('hostP99ms')),
      ipcPerCallMicros: us(ipcMs),
      echoPerCallMicros: us(m('echoMs')),
      echoP50Micros: us(m('echoP50ms')),
      ratio: +(ipcMs / m('echoMs')).toFixed(2),
    },
    pipelined: {
      callers: PIPELINE_CALLERS,
      echoWindow: ECHO_WINDOW,
      ipcPerCallMicros: us(ipcPipelinedMs),
      echoPerCallMicros: us(m('echoPipelinedMs')),
      ratio: +(ipcPipelinedMs / m('echoPipelinedMs')).toFixed(2),
    },
    target: { ratioAtMost: TARGET },
    ...(flagsB && infoB
      ? {
          hostFlagsB: {
            flags: flagsB,
            hostBuyMicros: us(m('hostBMs')),
            ratio: +((m('hostBMs') - m('koffiMs')) / m('echoMs')).toFixed(2),
            pipelinedRatio: +((m('hostBPipelinedMs') - m('koffiMs')) / m('echoPipelinedMs')).toFixed(2),
            rssKiB: rss,
          },
        }
      : {}),
  };
  console.log(JSON.stringify(result, null, 2));
  if (process.env.METERHUB_BENCH_OUT)
    writeFileSync(process.env.METERHUB_BENCH_OUT, JSON.stringify(result, null, 2) + '\n');
}

await main();
