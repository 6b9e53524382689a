/**
 * The driver host against the stand-in maker libraries (替身库) and the fault builds that
 * scripts/build-native.mjs compiles from sdk/reference. The layouts are MeterHub's, not the makers'.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import koffi from 'koffi';
import { afterEach, describe, expect, it } from 'vitest';
import { isMeterHubError, type MeterHubError } from '../errors/meterhub-error.ts';
import { createCardDriver, type CreateCardDriverOptions, type HostedCardDriver } from './driver-client.ts';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const lib = (maker: string) => join(ROOT, `plugins/${maker}/lib/linux-x64/libgascard_${maker}.so`);
const fault = (name: string) => join(ROOT, `build/native/faults/libgascard_fault_${name}.so`);
const NEEDED = [lib('kingcard'), lib('tancy'), ...['segv', 'abort', 'hang', 'overrun', 'garbage'].map(fault)];
const missing = process.platform === 'linux' && process.arch === 'x64' ? NEEDED.filter((p) => !existsSync(p)) : NEEDED;
if (missing.length > 0 && process.env.CI === 'true') {
  throw new Error(`stand-in libraries missing (run node scripts/build-native.mjs): ${missing.join(', ')}`);
}
const reason = missing.length > 0 ? ` [skipped: stand-ins not built — run node scripts/build-native.mjs]` : '';

const drivers: HostedCardDriver[] = [];
afterEach(async () => {
  await Promise.all(drivers.splice(0).map((d) => d.close()));
});

function driver(o: CreateCardDriverOptions): HostedCardDriver {
  const d = createCardDriver({ startTimeoutMs: 60_000, ...o });
  drivers.push(d);
  return d;
}

async function rejection(p: Promise<unknown>): Promise<MeterHubError> {
  try {
    await p;
  } catch (e) {
    if (isMeterHubError(e)) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

/** The meter's side of a card (stand-in-only export), called in-process: test tooling, not server code. */
function meterWriteBack(cardType: '4442' | '102', data: string, months: number[], usage: number[]): string {
  const l = koffi.load(lib('kingcard'));
  const fn = l.func(
    'int StandInMeterWriteBack(const char *cardType, const char *data, int status, int lastCode, const int *months, const int *usage, int count, _Out_ uint8_t *out, int outSize)',
  );
  const out = Buffer.alloc(4096);
  expect(
    fn(cardType, data, 0x21, 7, Int32Array.from(months), Int32Array.from(usage), months.length, out, out.length),
  ).toBe(0);
  return out.toString('latin1', 0, out.indexOf(0));
}

describe.skipIf(missing.length > 0)(`stand-in libraries${reason}`, () => {
  it('kingcard (4442 + 102): every memory-card method round-trips', async () => {
    const d = driver({ libraryPath: lib('kingcard') });
    const info = await d.info();
    expect(info.missing).toEqual([]);
    expect(info.interfaceVersion).toBe('1.0');

    for (const t of ['4442', '102'] as const) {
      const w = await d.writeNew(t, { cardNo: '3201001', gas: 25, count: 1, meterKind: 2 });
      expect(w.rc).toBe(0);
      expect(w.data).toMatch(t === '4442' ? /^[0-9A-F]{512}$/ : /^[0-9A-F]{300}$/);
      expect(w.newKey).toMatch(t === '4442' ? /^[0-9A-F]{6}$/ : /^[0-9A-F]{4}/);
      const c = await d.check(t, w.data);
      expect(c.rc).toBe(0);
      if (t === '102') expect(c.oldKey).toBe(w.newKey);
      expect(await d.read(t, w.data)).toEqual({ rc: 0, cardNo: '3201001', gas: 25, count: 1, meterKind: 2 });
      const b = await d.buy(t, { source: w.data, cardNo: '3201001', gas: 40, count: 2 });
      expect(b.rc).toBe(0);
      expect(await d.read(t, b.data)).toEqual({ rc: 0, cardNo: '3201001', gas: 40, count: 2, meterKind: 2 });
      expect((await d.buy(t, { source: w.data, cardNo: '3201009', gas: 1, count: 2 })).rc).toBe(-16);
      expect(await d.format(t, b.data)).toEqual({ rc: 0, oldKey: b.newKey });
      expect(await d.listTools(t)).toEqual({ rc: 0, kinds: ['CLEAR', 'TRANSFER'] });
      const tool = await d.makeTool(t, { kind: 'TRANSFER', params: { cardNo: '3201001' }, source: w.data });
      expect(tool.rc).toBe(0);
      expect((await d.check(t, t === '4442' ? tool.data : tool.data.slice(0, 44))).rc).toBe(1);
      expect(await d.readUsage(t, b.data)).toEqual({ rc: 0, written: false, status: 0, lastCode: 0, months: [] });
      const back = meterWriteBack(t, b.data, [202405, 202404], [1234, 987]);
      expect(await d.readUsage(t, back)).toEqual({
        rc: 0,
        written: true,
        status: 0x21,
        lastCode: 7,
        months: [
          { yyyymm: 202405, usage: 1234 },
          { yyyymm: 202404, usage: 987 },
        ],
      });
    }
    expect((await d.listTools('cpu')).rc).toBe(-34);
    expect((await d.errorText(-9)).text).toContain('密码校验错误');
    expect(d.health()).toMatchObject({ state: 'ready', restarts: 0 });
  });

  it('tancy (cpu): the library drives the simulated reader', async () => {
    const sim = mkdtempSync(join(tmpdir(), 'meterhub-sim-cpu-'));
    writeFileSync(join(sim, 'com0.card'), `card=1\npsam=1\ndata=${'F'.repeat(512)}\n`);
    const d = driver({ libraryPath: lib('tancy'), env: { ...process.env, METERHUB_SIM_CPU_DIR: sim } });
    expect(await d.check('cpu', { com: 1 })).toEqual({ rc: -4 }); // empty reader
    expect(await d.cpu.writeNew({ com: 0, cardNo: '88', gas: 4, count: 1, meterKind: 1 })).toEqual({ rc: 0 });
    expect(await d.check('cpu', { com: 0 })).toEqual({ rc: 0 });
    expect(await d.read('cpu', { com: 0 })).toEqual({ rc: 0, cardNo: '88', gas: 4, count: 1, meterKind: 1 });
    expect(await d.cpu.buy({ com: 0, cardNo: '88', gas: 6, count: 2 })).toEqual({ rc: 0 });
    expect(await d.read('cpu', { com: 0 })).toMatchObject({ gas: 6, count: 2 });
    expect(await d.readUsage('cpu', { com: 0 })).toMatchObject({ rc: 0, written: false, months: [] });
    expect((await d.listTools('cpu')).kinds).toContain('VALVE_OPEN');
    expect(await d.cpu.makeTool({ com: 0, kind: 'VALVE_OPEN', params: {} })).toEqual({ rc: 0 });
    expect(await d.cpu.format({ com: 0, cardNo: '88' })).toEqual({ rc: 0 });
    expect((await d.check('cpu', { com: 0 })).rc).toBe(-1);
  });

  for (const [name, code, reason2] of [
    ['segv', 'DRIVER_CRASHED', /SIGSEGV/],
    ['abort', 'DRIVER_CRASHED', /SIGABRT/],
    ['hang', 'DRIVER_TIMEOUT', /./],
  ] as const) {
    it(`fault build ${name}: ${code}, respawn, next call served`, async () => {
      const d = driver({ libraryPath: fault(name), callTimeoutMs: 1_000 });
      const w = await d.writeNew('4442', { cardNo: '1', gas: 1, count: 1, meterKind: 1 });
      expect(w.rc).toBe(0);
      const pid = (await d.info()).pid;
      const e = await rejection(d.read('4442', w.data));
      expect(e.code).toBe(code);
      expect(e.status).toBe(503);
      expect(e.details).toMatchObject({ function: 'Read4442Card', retryAfterSeconds: expect.any(Number) });
      if (code === 'DRIVER_CRASHED') expect(String(e.details?.reason)).toMatch(reason2);
      else expect(e.details?.timeoutMs).toBe(1_000);
      expect((await d.writeNew('102', { cardNo: '2', gas: 1, count: 1, meterKind: 1 })).rc).toBe(0);
      expect((await d.info()).pid).not.toBe(pid);
      expect(d.health()).toMatchObject({ state: 'ready', restarts: 1, lastError: { code } });
    });
  }

  it('fault build overrun: the guard report shows every byte written past the spec', async () => {
    const d = driver({ libraryPath: fault('overrun') });
    const r = await d.invoke('WriteNew4442Card', { kh: '1', ql: 1, cs: 1, klx: 1 });
    expect(r.rc).toBe(0);
    expect(r.$out.data).toMatchObject({
      len: 812,
      terminated: true,
      writtenBytes: 813,
      specMax: 512,
      beyondSpecBytes: 300,
      overflowBytes: 0,
    });
    expect(r.$out.oldKey).toMatchObject({ len: 40, specMax: 6, beyondSpecBytes: 34 });
    const k = await d.invoke('Read4442Card', {
      data: (
        await driver({ libraryPath: lib('kingcard') }).writeNew('4442', { cardNo: '5', gas: 1, count: 1, meterKind: 1 })
      ).data,
    });
    expect(k.$out.kh).toMatchObject({ len: 48, specMax: 32, beyondSpecBytes: 16 });
  });

  it('fault build garbage: non-hex, over-long outputs are visible to the conformance kit', async () => {
    const d = driver({ libraryPath: fault('garbage') });
    const r = await d.invoke('WriteNew4442Card', { kh: '1', ql: 1, cs: 1, klx: 1 });
    expect(r.rc).toBe(0);
    expect(r.data).not.toMatch(/^[0-9A-F]*$/);
    expect(r.$out.data).toMatchObject({ len: 552, beyondSpecBytes: 40 });
    // Garbage in the output is data, not a protocol failure: the host stays up.
    expect(d.health()).toMatchObject({ state: 'ready', restarts: 0 });
  });
});
