/**
 * The driver host and its supervisor against a real native library: the fixture in test-fixtures/, compiled
 * here with the system C compiler. Faults are triggered by card numbers the fixture's Buy4442Card knows.
 */
import { spawn } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isMeterHubError, type MeterHubError } from '../errors/meterhub-error.ts';
import {
  createCardDriver,
  serialiseToolParams,
  type CreateCardDriverOptions,
  type HostedCardDriver,
} from './driver-client.ts';
import { FRAME_MARKER } from './protocol.ts';
import { DEFAULT_HOST_ENTRY, tsxLoaderUrl, type DriverLogger } from './supervisor.ts';
import { buildFixture } from './test-fixtures/build-fixture.ts';
import { cliBudgetMs, workBudgetMs } from '../testing/work-budget.ts';

/**
 * Budgets from measured driver host starts, not vitest's fixed 30 s: the most a test here does is 'backs off
 * exponentially', six host starts and 950 ms of backoff. The two process tests start hosts through tsx, the
 * cost of a CLI start. Budgets only catch a hang; what is asserted is counts, codes and order.
 */
const HOST_BUDGET = workBudgetMs({ hostStarts: 6, extraMs: 50 + 100 + 200 + 300 + 300 });
const PROCESS_BUDGET = cliBudgetMs(2);

let LIB = '';
let NOISY = '';
let PARTIAL = '';
const drivers: HostedCardDriver[] = [];

beforeAll(() => {
  LIB = buildFixture();
  NOISY = buildFixture(['NOISY']);
  PARTIAL = buildFixture(['OMIT_USAGE102', 'RENAME_BUY']);
});

afterEach(async () => {
  await Promise.all(drivers.splice(0).map((d) => d.close()));
});

function captureLogger() {
  const lines: Array<{ level: string; obj: Record<string, unknown>; msg?: string }> = [];
  const at = (level: string) => (obj: object, msg?: string) => {
    lines.push({ level, obj: obj as Record<string, unknown>, ...(msg ? { msg } : {}) });
  };
  const logger: DriverLogger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { logger, lines };
}

function driver(o: Partial<CreateCardDriverOptions> & { libraryPath?: string } = {}): HostedCardDriver {
  const d = createCardDriver({ libraryPath: LIB, startTimeoutMs: HOST_BUDGET, ...o });
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

/** Polls a condition; the timeout only bounds a hang, it asserts nothing about speed. */
async function waitFor(cond: () => boolean, timeoutMs = HOST_BUDGET): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function newCard(d: HostedCardDriver, cardNo = '12345'): Promise<string> {
  const w = await d.writeNew('4442', { cardNo, gas: 10, count: 1, meterKind: 1 });
  expect(w.rc).toBe(0);
  return w.data;
}

describe('driver host: round trip through the fixture library', { timeout: HOST_BUDGET }, () => {
  it('serves every CardDriver method', async () => {
    const d = driver();
    const info = await d.info();
    expect(info.missing).toEqual([]);
    expect(info.functions).toHaveLength(24);
    expect(info.interfaceVersion).toBe('1.0');
    expect(info.pid).not.toBe(process.pid);
    expect(info.arch).toBe(process.arch);

    // 4442
    const w = await d.writeNew('4442', { cardNo: '3201001', gas: 25, count: 1, meterKind: 2 });
    expect(w).toMatchObject({ rc: 0, oldKey: 'FFFFFF', newKey: 'C0FFEE' });
    expect(w.data).toMatch(/^[0-9A-F]{512}$/);
    expect(await d.check('4442', w.data)).toEqual({ rc: 0 });
    expect(await d.read('4442', w.data)).toEqual({ rc: 0, cardNo: '3201001', gas: 25, count: 1, meterKind: 2 });
    const b = await d.buy('4442', { source: w.data, cardNo: '3201001', gas: 40, count: 2 });
    expect(b.rc).toBe(0);
    expect(await d.read('4442', b.data)).toEqual({ rc: 0, cardNo: '3201001', gas: 40, count: 2, meterKind: 2 });
    // The library refused and wrote nothing: untouched buffers read as "", never as guard bytes.
    expect(await d.buy('4442', { source: w.data, cardNo: '999', gas: 1, count: 2 })).toEqual({
      rc: -16,
      data: '',
      oldKey: '',
      newKey: '',
    });
    expect(await d.format('4442', b.data)).toEqual({ rc: 0, oldKey: 'C0FFEE' });
    expect(await d.listTools('4442')).toEqual({ rc: 0, kinds: ['CLEAR', 'CHECK', 'X_FIXTURE'] });
    const tool = await d.makeTool('4442', {
      kind: 'X_FIXTURE',
      params: { alarmGas: '5', limit: '300' },
      source: w.data,
    });
    expect(tool.rc).toBe(0);
    expect(await d.check('4442', tool.data)).toEqual({ rc: 1 });
    // The library saw exactly "kind|name=value;name=value" (the fixture stores it at byte 0x60).
    const stored = Buffer.from(tool.data, 'hex')
      .subarray(0x60, 0x60 + 32)
      .toString('latin1')
      .replace(/\0.*$/s, '');
    expect(stored).toBe('X_FIXTURE|alarmGas=5;limit=300');
    expect(await d.readUsage('4442', w.data)).toEqual({
      rc: 0,
      written: true,
      status: 0x12,
      lastCode: 3,
      months: [
        { yyyymm: 202405, usage: 1234 },
        { yyyymm: 202404, usage: 1100 },
        { yyyymm: 202403, usage: 987 },
      ],
    });
    expect(await d.errorText(-9)).toEqual({ rc: 0, text: '密码校验错误 / PSC check failed' });

    // 102: Check takes the public zone; the whole image is accepted too.
    const w102 = await d.writeNew('102', { cardNo: '77', gas: 3, count: 1, meterKind: 1 });
    expect(w102.data).toMatch(/^[0-9A-F]{300}$/);
    expect(await d.check('102', w102.data)).toEqual({ rc: 0, oldKey: '1234' });
    expect(await d.check('102', w102.data.slice(0, 44))).toEqual({ rc: 0, oldKey: '1234' });
    expect(await d.read('102', w102.data)).toEqual({ rc: 0, cardNo: '77', gas: 3, count: 1, meterKind: 1 });
    const b102 = await d.buy('102', { source: w102.data, cardNo: '77', gas: 9, count: 2 });
    expect(await d.read('102', b102.data)).toMatchObject({ gas: 9, count: 2 });
    expect(await d.format('102', b102.data)).toEqual({ rc: 0, oldKey: '1234' });
    expect((await d.makeTool('102', { kind: 'CLEAR', params: {}, source: w102.data })).rc).toBe(0);
    expect((await d.readUsage('102', w102.data)).months).toHaveLength(3);

    // CPU: the library drives the (simulated) reader itself.
    expect(await d.check('cpu', { com: 1 })).toEqual({ rc: -4 });
    expect(await d.cpu.writeNew({ com: 1, cardNo: '55', gas: 7, count: 1, meterKind: 1 })).toEqual({ rc: 0 });
    expect(await d.check('cpu', { com: 1 })).toEqual({ rc: 0 });
    expect(await d.cpu.buy({ com: 1, cardNo: '55', gas: 12, count: 2 })).toEqual({ rc: 0 });
    expect(await d.read('cpu', { com: 1 })).toEqual({ rc: 0, cardNo: '55', gas: 12, count: 2, meterKind: 1 });
    expect(await d.listTools('cpu')).toEqual({ rc: 0, kinds: ['VALVE_OPEN'] });
    expect(await d.cpu.makeTool({ com: 1, kind: 'VALVE_OPEN', params: {} })).toEqual({ rc: 0 });
    expect(await d.cpu.makeTool({ com: 1, kind: 'CLEAR', params: {} })).toEqual({ rc: -34 });
    expect((await d.readUsage('cpu', { com: 1 })).rc).toBe(0);
    expect(await d.cpu.format({ com: 1, cardNo: '55' })).toEqual({ rc: 0 });
    expect(await d.read('cpu', { com: 1 })).toMatchObject({ rc: -4 });

    expect(d.health()).toMatchObject({ state: 'ready', restarts: 0, calls: expect.any(Number) });
    expect(d.health().lastError).toBeUndefined();
  });

  it('applies the manifest symbol map and reports missing functions', async () => {
    const plain = driver({ libraryPath: PARTIAL });
    const info = await plain.info();
    expect(info.missing.sort()).toEqual(['Buy4442Card', 'ReadUsage102']);
    const data = await newCard(plain);
    const e = await rejection(plain.buy('4442', { source: data, cardNo: '12345', gas: 1, count: 2 }));
    expect(e.code).toBe('FUNCTION_MISSING');
    expect(e.status).toBe(501);
    expect(e.details).toMatchObject({ function: 'Buy4442Card' });
    expect((await rejection(plain.readUsage('102', '00'.repeat(150)))).code).toBe('FUNCTION_MISSING');
    // A missing function is an answer, not a failure of the host.
    expect(plain.health()).toMatchObject({ state: 'ready', restarts: 0 });

    const mapped = driver({ libraryPath: PARTIAL, symbols: { Buy4442Card: 'Vendor_Buy4442' } });
    expect((await mapped.info()).missing).toEqual(['ReadUsage102']);
    const data2 = await newCard(mapped);
    expect((await mapped.buy('4442', { source: data2, cardNo: '12345', gas: 5, count: 2 })).rc).toBe(0);
  });

  it('fails clearly when the library cannot be loaded, and keeps failing clearly', async () => {
    const d = driver({ libraryPath: '/nonexistent/libgascard_nobody.so' });
    const e = await rejection(d.info());
    expect(e.code).toBe('LIBRARY_LOAD_FAILED');
    expect(e.status).toBe(500);
    expect(e.en).toContain('cannot open shared object');
    expect(d.health()).toMatchObject({ state: 'failed', lastError: { code: 'LIBRARY_LOAD_FAILED' } });
    // Within the backoff the failure is answered without spawning another host.
    let spawns = 0;
    d.supervisor.on('spawn', () => spawns++);
    expect((await rejection(d.errorText(0))).code).toBe('LIBRARY_LOAD_FAILED');
    expect(spawns).toBe(0);
  });

  it('retries a failed start once the backoff has passed', async () => {
    const d = driver({ libraryPath: '/nonexistent/libgascard_nobody.so', backoff: { initialMs: 1, maxMs: 1 } });
    expect((await rejection(d.info())).code).toBe('LIBRARY_LOAD_FAILED');
    let spawns = 0;
    d.supervisor.on('spawn', () => spawns++);
    await new Promise((r) => setTimeout(r, 10));
    expect((await rejection(d.info())).code).toBe('LIBRARY_LOAD_FAILED');
    expect(spawns).toBe(1);
  });

  it('a host that never says ready fails the start with DRIVER_START_FAILED', async () => {
    const d = driver({ hostArgs: ['-e', 'setInterval(() => {}, 1000)'], startTimeoutMs: 500 });
    const e = await rejection(d.errorText(0));
    expect(e.code).toBe('DRIVER_START_FAILED');
    expect(e.details).toMatchObject({ reason: 'no ready event' });
  });

  it('a host speaking another protocol version is refused with DRIVER_PROTOCOL', async () => {
    const ready = JSON.stringify({ event: 'ready', pid: 1, runtime: 'test', arch: 'x64', protocol: 2 });
    const d = driver({
      hostArgs: [
        '-e',
        `process.stdout.write(${JSON.stringify(FRAME_MARKER + ready + '\n')}); setInterval(() => {}, 1000)`,
      ],
    });
    const e = await rejection(d.errorText(0));
    expect(e.code).toBe('DRIVER_PROTOCOL');
    expect(String(e.details?.reason)).toContain('protocol 2');
  });

  it('fails clearly when the host runtime does not exist', async () => {
    const d = driver({ execPath: '/nonexistent/node32.exe' });
    const e = await rejection(d.errorText(0));
    expect(e.code).toBe('DRIVER_START_FAILED');
    expect(e.status).toBe(503);
    expect(d.health().state).toBe('failed');
  });
});

describe('driver host: isolation and respawn', { timeout: HOST_BUDGET }, () => {
  const faults: Array<[string, string, string, RegExp]> = [
    ['segfault', '9000000001', 'DRIVER_CRASHED', /SIGSEGV/],
    ['abort', '9000000002', 'DRIVER_CRASHED', /SIGABRT/],
    ['exit(3) inside the library', '9000000006', 'DRIVER_CRASHED', /exit code 3/],
    ['a garbage frame', '9000000004', 'DRIVER_PROTOCOL', /not JSON/],
    ['a response to no request', '9000000005', 'DRIVER_PROTOCOL', /no request in flight/],
  ];

  for (const [what, kh, code, reason] of faults) {
    it(`${what}: fails that call with ${code}, respawns, and the next call succeeds`, async () => {
      const d = driver();
      const data = await newCard(d);
      const pid1 = (await d.info()).pid;
      const e = await rejection(d.buy('4442', { source: data, cardNo: kh, gas: 1, count: 2 }));
      expect(e.code).toBe(code);
      expect(e.status).toBe(503);
      expect(e.details?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(e.details).toMatchObject({ function: 'Buy4442Card' });
      expect(String(e.details?.reason)).toMatch(reason);
      // Neither the card image nor the card number reaches the error.
      expect(JSON.stringify(e.toJSON())).not.toContain(data.slice(64, 128));
      expect(JSON.stringify(e.toJSON())).not.toContain(kh);
      expect(d.health()).toMatchObject({ lastError: { code } });

      expect(await d.read('4442', data)).toMatchObject({ rc: 0, cardNo: '12345' });
      const info = await d.info();
      expect(info.pid).not.toBe(pid1);
      expect(alive(pid1)).toBe(false);
      expect(d.health()).toMatchObject({ state: 'ready', restarts: 1 });
    });
  }

  it('a hang times out with DRIVER_TIMEOUT (per-call override), the host is killed and replaced', async () => {
    const d = driver({ callTimeoutMs: 120_000 });
    const data = await newCard(d);
    const pid1 = (await d.info()).pid;
    const e = await rejection(
      d.buy('4442', { source: data, cardNo: '9000000003', gas: 1, count: 2 }, { timeoutMs: 400 }),
    );
    expect(e.code).toBe('DRIVER_TIMEOUT');
    expect(e.status).toBe(503);
    expect(e.details).toMatchObject({ function: 'Buy4442Card', timeoutMs: 400 });
    expect((await d.read('4442', data)).rc).toBe(0);
    expect((await d.info()).pid).not.toBe(pid1);
    await waitFor(() => !alive(pid1));
  });

  it('calls queued behind a crash are served by the new process', async () => {
    const d = driver();
    const data = await newCard(d);
    const crash = rejection(d.buy('4442', { source: data, cardNo: '9000000001', gas: 1, count: 2 }));
    const queued = [d.read('4442', data), d.errorText(-9), d.check('4442', data)] as const;
    expect((await crash).code).toBe('DRIVER_CRASHED');
    const [r, t, c] = await Promise.all(queued);
    expect(r).toMatchObject({ rc: 0, cardNo: '12345' });
    expect(t.text).toContain('PSC');
    expect(c.rc).toBe(0);
    expect(d.health().restarts).toBe(1);
  });

  it("pipelined calls around a crash: answers before it stand, the crash is that call's alone, calls after it run once on the new host", async () => {
    const d = driver();
    const data = await newCard(d);
    await d.errorText(1001); // a fresh count below starts at the next host
    const writes: number[] = [];
    d.supervisor.on('write', (w: { requests: number }) => writes.push(w.requests));
    const before = [d.errorText(1000), d.errorText(1000), d.errorText(1000)];
    const crash = rejection(d.buy('4442', { source: data, cardNo: '9000000001', gas: 1, count: 2 }));
    const after = [d.errorText(1000), d.errorText(1000), d.errorText(1000), d.errorText(1000)];
    expect((await Promise.all(before)).map((r) => r.rc)).toEqual([0, 0, 0]);
    // All eight went out in one write: seven waited in the host's pipe behind the first (slow) one.
    expect(writes[0]).toBe(8);
    expect((await crash).code).toBe('DRIVER_CRASHED');
    expect((await crash).details).toMatchObject({ function: 'Buy4442Card' });
    expect((await Promise.all(after)).map((r) => r.rc)).toEqual([0, 0, 0, 0]);
    // The fixture counts calls per process: the new host ran exactly the four written after the crash, once each.
    expect((await d.errorText(1001)).text).toBe('max=1 total=5');
    expect(d.health()).toMatchObject({ restarts: 1, queued: 0 });
  });

  it('calls made by separate callbacks of one event-loop turn share one write (not a write per callback)', async () => {
    const d = driver();
    const data = await newCard(d);
    const writes: number[] = [];
    d.supervisor.on('write', (w: { requests: number }) => writes.push(w.requests));
    // Two immediates queued together run in one check phase, each followed by its own microtasks: like two HTTP
    // requests parsed in one poll phase. A flush per microtask run would make this two writes. (Two 1 ms timers
    // were used before; on a loaded machine the clock could tick between them and put them in two phases.)
    const calls = await new Promise<Array<Promise<{ rc: number }>>>((resolve) => {
      const made: Array<Promise<{ rc: number }>> = [];
      setImmediate(() => {
        made.push(d.check('4442', data));
      });
      setImmediate(() => {
        made.push(d.read('4442', data));
        resolve(made);
      });
    });
    expect((await Promise.all(calls)).map((r) => r.rc)).toEqual([0, 0]);
    expect(writes).toEqual([2]);
  });

  it('a call waiting in the pipe behind a hang is not timed out by its own timer; it runs on the new host', async () => {
    const d = driver({ callTimeoutMs: 120_000 });
    const data = await newCard(d);
    const hang = rejection(d.buy('4442', { source: data, cardNo: '9000000003', gas: 1, count: 2 }, { timeoutMs: 500 }));
    // Shorter than the hang's timeout plus the respawn: it would fail if its clock ran while it waited.
    const behind = d.read('4442', data, { timeoutMs: 400 });
    expect((await hang).code).toBe('DRIVER_TIMEOUT');
    expect(await behind).toMatchObject({ rc: 0, cardNo: '12345' });
    expect(d.health().restarts).toBe(1);
  });

  it('pipelineDepth 1 sends one request at a time and gives the same answers', async () => {
    const d = driver({ pipelineDepth: 1 });
    const data = await newCard(d);
    const writes: Array<{ requests: number; inFlight: number }> = [];
    d.supervisor.on('write', (w: { requests: number; inFlight: number }) => writes.push(w));
    const calls = [d.errorText(1000), d.errorText(-9), d.check('4442', data)];
    const [r, t, c] = (await Promise.all(calls)) as [{ text: string }, { text: string }, { rc: number }];
    expect(r.text).toBe('slow');
    expect(t.text).toContain('PSC');
    expect(c.rc).toBe(0);
    expect(writes).toEqual([
      { requests: 1, inFlight: 1 },
      { requests: 1, inFlight: 1 },
      { requests: 1, inFlight: 1 },
    ]);
    expect(() => driver({ pipelineDepth: 0 })).toThrow(/pipelineDepth/);
  });

  it('backs off exponentially on a crash loop, capped', async () => {
    const d = driver({ backoff: { initialMs: 50, maxMs: 300, healthyResetMs: 600_000 } });
    const data = await newCard(d);
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) {
      const e = await rejection(d.buy('4442', { source: data, cardNo: '9000000001', gas: 1, count: 2 }));
      expect(e.code).toBe('DRIVER_CRASHED');
      seen.push(d.health().backoffMs);
      expect(d.health().consecutiveFailures).toBe(i + 1);
    }
    expect(seen).toEqual([50, 100, 200, 300, 300]);
    expect((await d.read('4442', data)).rc).toBe(0);
    expect(d.health().restarts).toBe(5);
  });

  it('resets the backoff after a healthy period', async () => {
    const d = driver({ backoff: { initialMs: 50, maxMs: 5_000, healthyResetMs: 1 } });
    const data = await newCard(d);
    for (let i = 0; i < 3; i++) {
      await rejection(d.buy('4442', { source: data, cardNo: '9000000002', gas: 1, count: 2 }));
      await d.read('4442', data); // the new host serves, i.e. it has been healthy for >= 1 ms before the next crash
      expect(d.health()).toMatchObject({ backoffMs: 50, consecutiveFailures: 1 });
    }
  });

  it('never lets calls overlap inside the library', async () => {
    const d = driver();
    await d.info();
    const calls = Array.from({ length: 25 }, (_, i) =>
      i % 2 === 0 ? d.errorText(1000) : d.invoke('GasCardErrorText', { code: 1000 }),
    );
    const results = await Promise.all(calls);
    expect(results.every((r) => r.rc === 0)).toBe(true);
    // The fixture counts how many calls were inside it at once.
    expect((await d.errorText(1001)).text).toBe('max=1 total=26');
  });

  it('ignores vendor printf noise on stdout, with or without newlines', async () => {
    const { logger, lines } = captureLogger();
    const d = driver({ libraryPath: NOISY, logger });
    const data = await newCard(d);
    expect(await d.read('4442', data)).toMatchObject({ rc: 0, cardNo: '12345', gas: 10 });
    expect((await d.errorText(-9)).text).toBe('密码校验错误 / PSC check failed');
    const texts = await Promise.all(Array.from({ length: 20 }, () => d.errorText(0)));
    expect(texts.every((t) => t.text === '成功 / OK')).toBe(true);
    expect(d.health()).toMatchObject({ state: 'ready', restarts: 0 });
    expect(d.health().noiseLines).toBeGreaterThan(40);
    const noise = lines.filter((l) => l.msg === 'vendor output on stdout ignored').map((l) => l.obj.noise);
    expect(noise).toContain('vendor lib v9 loaded, licence OK'); // printed without a newline, right before a frame
    expect(noise).toContain('vendor debug: entering Read4442Card');
  });

  it('closes cleanly: the host exits and later calls are refused', async () => {
    const d = driver();
    const { pid } = await d.info();
    await d.close();
    expect(alive(pid)).toBe(false);
    expect(d.health().state).toBe('stopped');
    expect((await rejection(d.errorText(0))).code).toBe('DRIVER_CLOSED');
  });
});

describe('driver host: conformance reporting through invoke()', { timeout: HOST_BUDGET }, () => {
  it('reports guard-byte facts for every output buffer', async () => {
    const d = driver();
    const data = await newCard(d);
    const ok = await d.invoke('Buy4442Card', { source: data, kh: '12345', ql: 3, cs: 2 });
    expect(ok.$out.dest).toEqual({
      size: 4096,
      len: 512,
      terminated: true,
      touchedBytes: 0,
      overflowBytes: 0,
      writtenBytes: 513,
      specMax: 512,
      beyondSpecBytes: 0,
    });
    expect(ok.$out.oldKey).toMatchObject({ size: 64, len: 6, terminated: true, touchedBytes: 0, specMax: 6 });

    // Bytes written after the string's NUL.
    const card7 = await newCard(d, '9000000007');
    const over = await d.invoke('Buy4442Card', { source: card7, kh: '9000000007', ql: 3, cs: 2 });
    expect(over.$out.dest).toMatchObject({
      len: 512,
      terminated: true,
      touchedBytes: 100,
      overflowBytes: 0,
      writtenBytes: 613,
      beyondSpecBytes: 100,
    });

    // No NUL at all, and 10 bytes past the end of the 4096-byte buffer.
    const card8 = await newCard(d, '9000000008');
    const overflow = await d.invoke('Buy4442Card', { source: card8, kh: '9000000008', ql: 3, cs: 2 });
    expect(overflow.$out.dest).toMatchObject({
      len: 4096,
      terminated: false,
      touchedBytes: 10,
      overflowBytes: 10,
      writtenBytes: 4106,
    });

    const refused = await d.invoke('Buy4442Card', { source: data, kh: '999', ql: 3, cs: 2 });
    expect(refused).toMatchObject({ rc: -16, dest: '' });
    expect(refused.$out.dest).toEqual({
      size: 4096,
      len: 0,
      terminated: false,
      touchedBytes: 0,
      overflowBytes: 0,
      writtenBytes: 0,
      specMax: 512,
      beyondSpecBytes: 0,
    });
  });

  it('sends bad input straight to the library', async () => {
    const d = driver();
    expect((await d.invoke('Buy4442Card', { source: 'XYZ', kh: 'abc', ql: -5, cs: -1 })).rc).toBe(-32);
    expect((await d.invoke('Check4442Card', { source: null })).rc).toBe(-32);
    expect((await d.invoke('WriteNew4442Card', { kh: '1', ql: 1, cs: 1, klx: 7 })).rc).toBe(-31);
    // A too-small buffer the conformance kit chose; the size parameter follows it.
    const small = await d.invoke('GasCardInterfaceVersion', { $buffers: { out: 3 } });
    expect(small.rc).toBe(-33);
    expect(small.$out.out).toMatchObject({ size: 3, touchedBytes: 0, writtenBytes: 0 });
    const usage = await d.invoke('ReadUsage4442', { data: '00'.repeat(256), capacity: 2 });
    expect(usage).toMatchObject({ rc: 0, count: 2, months: [202405, 202404], usage: [1234, 1100] });
    expect(usage.$out.months).toEqual({ capacity: 2, touchedBeyondCount: 0, overflowEntries: 0 });
  });

  it('refuses what cannot cross the C boundary, naming the parameter', async () => {
    const d = driver();
    const e = await rejection(d.invoke('Buy4442Card', { source: '00', kh: '1', ql: 'ten', cs: 1 }));
    expect(e.code).toBe('BAD_INPUT');
    expect(e.details).toMatchObject({ field: 'ql' });
    expect(
      (await rejection(d.invoke('Buy4442Card', { source: '00', kh: '1', ql: 1, cs: 40000 }))).details,
    ).toMatchObject({ field: 'cs' });
    expect((await rejection(d.invoke('NoSuchFunction', {}))).code).toBe('FUNCTION_MISSING');
    expect((await rejection(d.invoke('$shutdown', {}))).details).toMatchObject({ field: 'fn' });
    expect(d.health()).toMatchObject({ state: 'ready', restarts: 0 });
  });
});

describe('driver client: input validation', { timeout: HOST_BUDGET }, () => {
  const card = 'A'.repeat(512);
  const cases: Array<[string, (d: HostedCardDriver) => Promise<unknown>, string]> = [
    ['cardType', (d) => d.read('5557' as never, card), 'cardType'],
    ['non-hex data', (d) => d.read('4442', 'Z'.repeat(512)), 'data'],
    ['short 4442 data', (d) => d.check('4442', 'AB'), 'data'],
    ['102 data of 4442 length', (d) => d.read('102', card), 'data'],
    ['102 check of neither 44 nor 300 hex', (d) => d.check('102', 'AB'.repeat(30)), 'data'],
    ['cardNo with letters', (d) => d.writeNew('4442', { cardNo: '12a', gas: 1, count: 1, meterKind: 1 }), 'cardNo'],
    ['empty cardNo', (d) => d.writeNew('4442', { cardNo: '', gas: 1, count: 1, meterKind: 1 }), 'cardNo'],
    ['33-digit cardNo', (d) => d.buy('4442', { source: card, cardNo: '1'.repeat(33), gas: 1, count: 1 }), 'cardNo'],
    ['gas too large', (d) => d.buy('4442', { source: card, cardNo: '1', gas: 100_000_000, count: 1 }), 'gas'],
    ['negative gas', (d) => d.cpu.buy({ com: 0, cardNo: '1', gas: -1, count: 1 }), 'gas'],
    ['fractional gas', (d) => d.writeNew('102', { cardNo: '1', gas: 1.5, count: 1, meterKind: 1 }), 'gas'],
    ['count too large', (d) => d.buy('4442', { source: card, cardNo: '1', gas: 1, count: 32768 }), 'count'],
    ['meterKind 3', (d) => d.writeNew('4442', { cardNo: '1', gas: 1, count: 1, meterKind: 3 }), 'meterKind'],
    ['source of wrong length', (d) => d.buy('102', { source: card, cardNo: '1', gas: 1, count: 1 }), 'source'],
    ['format on cpu', (d) => d.format('cpu' as never, card), 'cardType'],
    ['negative com', (d) => d.read('cpu', { com: -1 }), 'com'],
    ['tool kind', (d) => d.makeTool('4442', { kind: 'BOGUS', params: {}, source: card }), 'kind'],
    [
      'tool param value with ;',
      (d) => d.makeTool('4442', { kind: 'SETUP', params: { limit: '1;x=2' }, source: card }),
      'params',
    ],
    ['errorText code', (d) => d.errorText(1.5), 'code'],
  ];

  for (const [what, call, field] of cases) {
    it(`rejects ${what} naming ${field}, before the library sees it`, async () => {
      const d = driver({ lazy: true });
      const e = await rejection(call(d));
      expect(e.code).toBe('BAD_INPUT');
      expect(e.status).toBe(400);
      expect(e.details).toMatchObject({ field });
      expect(e.en).toContain(field);
      expect(d.health()).toMatchObject({ calls: 0, state: 'stopped' });
    });
  }

  it('serialises tool params as name=value;name=value', () => {
    expect(serialiseToolParams({ alarmGas: '5', time: '20240501120000' })).toBe('alarmGas=5;time=20240501120000');
    expect(serialiseToolParams({})).toBe('');
  });
});

describe('driver host process', { timeout: PROCESS_BUDGET }, () => {
  it('exits when its stdin closes', async () => {
    const child = spawn(process.execPath, ['--import', tsxLoaderUrl(), DEFAULT_HOST_ENTRY], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s;
    });
    await waitFor(() => out.includes(`${FRAME_MARKER}{"event":"ready"`), PROCESS_BUDGET);
    const ready = JSON.parse(out.slice(out.indexOf(FRAME_MARKER) + FRAME_MARKER.length).split('\n')[0]!);
    expect(ready).toMatchObject({ event: 'ready', pid: child.pid, protocol: 1, arch: process.arch });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.stdin.end();
    expect(await exited).toBe(0);
  });

  it('exits when the supervising process is killed', async () => {
    const parent = spawn(
      process.execPath,
      ['--import', tsxLoaderUrl(), new URL('./test-fixtures/parent.ts', import.meta.url).pathname, LIB],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    parent.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s;
    });
    await waitFor(() => /hostPid=\d+\n/.test(out), PROCESS_BUDGET);
    const hostPid = Number(/hostPid=(\d+)/.exec(out)![1]);
    expect(alive(hostPid)).toBe(true);
    parent.kill('SIGKILL');
    await waitFor(() => !alive(hostPid), PROCESS_BUDGET);
  });
});

afterAll(async () => {
  await Promise.all(drivers.splice(0).map((d) => d.close()));
});
