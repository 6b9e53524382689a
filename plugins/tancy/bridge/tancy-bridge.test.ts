/**
 * The Tancy .NET bridge (MeterHub.TancyBridge.exe) under Mono, driven through the product's own supervisor and
 * card driver exactly as the plugin host would start it, against the Tancy stand-in assembly (替身, Tancy.StandIn.dll).
 * Needs `mono` and `mcs` (apt-get install mono-mcs mono-runtime): skipped with a reason elsewhere, required in CI.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import koffi from 'koffi';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createCardDriver,
  type CreateCardDriverOptions,
  type HostedCardDriver,
} from '../../../core/driver/driver-client.ts';
import type { DriverLogger } from '../../../core/driver/supervisor.ts';
import { INTERFACE_FUNCTIONS } from '../../../core/driver/interface-functions.ts';
import { FRAME_MARKER } from '../../../core/driver/protocol.ts';
import { isMeterHubError, type MeterHubError } from '../../../core/errors/meterhub-error.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../../..');
const BRIDGE = join(ROOT, 'build/tancy/MeterHub.TancyBridge.exe');
const STANDIN = join(ROOT, 'build/tancy/Tancy.StandIn.dll');
const C_STANDIN = join(ROOT, 'plugins/tancy/lib/linux-x64/libgascard_tancy.so');

const has = (cmd: string) => spawnSync(cmd, ['--version'], { encoding: 'utf8' }).status === 0;
const toolsMissing = [has('mono') ? '' : 'mono', has('mcs') ? '' : 'mcs'].filter(Boolean);
if (toolsMissing.length > 0 && process.env.CI === 'true') {
  throw new Error(
    `${toolsMissing.join(' and ')} not found; CI requires them for the Tancy .NET bridge (apt-get install mono-mcs mono-runtime)`,
  );
}
const reason =
  toolsMissing.length > 0
    ? ` [skipped: ${toolsMissing.join(', ')} not installed — apt-get install mono-mcs mono-runtime]`
    : '';

let sim: string;
const drivers: HostedCardDriver[] = [];
let nextCom = 10;
const freshCom = () => nextCom++;

beforeAll(() => {
  if (toolsMissing.length > 0) return;
  execFileSync(process.execPath, [join(HERE, 'build.mjs')], { cwd: ROOT, stdio: 'pipe' });
  sim = mkdtempSync(join(tmpdir(), 'meterhub-tancy-bridge-'));
  // The C stand-in is used in this process (koffi) to prove both stand-ins share the simulated card.
  process.env.METERHUB_SIM_CPU_DIR = sim;
});
afterEach(async () => {
  await Promise.all(drivers.splice(0).map((d) => d.close()));
});
afterAll(() => {
  if (sim) rmSync(sim, { recursive: true, force: true });
});

interface LogLine {
  level: string;
  obj: Record<string, unknown>;
  msg?: string;
}
function collectingLogger(lines: LogLine[]): DriverLogger {
  const at = (level: string) => (obj: object, msg?: string) => {
    lines.push({ level, obj: obj as Record<string, unknown>, msg });
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** The bridge as the plugin host starts it: execPath = the runtime (mono here; the .exe itself on Windows). */
function bridge(o: Partial<CreateCardDriverOptions> & { args?: string[] } = {}): HostedCardDriver {
  const { args = [], ...rest } = o;
  const d = createCardDriver({
    libraryPath: STANDIN,
    execPath: 'mono',
    hostArgs: [BRIDGE, ...args],
    name: 'tancy',
    env: { ...process.env, METERHUB_SIM_CPU_DIR: sim },
    startTimeoutMs: 60_000,
    ...rest,
  });
  drivers.push(d);
  return d;
}

/** The stand-in's reader helpers (StandInTools in Tancy.StandIn.dll), through the bridge's --standin command. */
function reader(
  com: number,
  op: 'insert-blank' | 'remove' | 'psam-on' | 'psam-off' | 'get-data' | `fault:${string}`,
): string {
  return execFileSync('mono', [BRIDGE, '--standin', STANDIN, op, '--com', String(com)], {
    env: { ...process.env, METERHUB_SIM_CPU_DIR: sim },
    encoding: 'utf8',
  }).trim();
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

const KH = '3701020025';

describe.skipIf(toolsMissing.length > 0)(`Tancy .NET bridge under Mono${reason}`, () => {
  it('mirrors the interface table of core/driver/interface-functions.ts', () => {
    const described = JSON.parse(execFileSync('mono', [BRIDGE, '--describe'], { encoding: 'utf8' })) as {
      functions: Array<{ name: string; params: Array<{ name: string; kind: string }> }>;
    };
    expect(described.functions).toEqual(
      INTERFACE_FUNCTIONS.map((f) => ({ name: f.name, params: f.params.map((p) => ({ name: p.name, kind: p.kind })) })),
    );
  });

  it('starts as a driver host: ready event, $load binds the CPU functions, interface version 1.0', async () => {
    const d = bridge();
    const info = await d.info();
    expect(info.runtime).toMatch(/^mono \d/);
    expect(info.functions).toEqual([
      'WriteNewCpuCard',
      'ReadCpuCard',
      'BuyCpuCard',
      'FormatCpuCard',
      'CheckCpuCard',
      'GasCardInterfaceVersion',
      'GasCardErrorText',
      'ListToolCards',
      'MakeToolCpu',
      'ReadUsageCpu',
    ]);
    expect(info.missing).toContain('Read4442Card');
    expect(info.interfaceVersion).toBe('1.0');
    const missing = await rejection(d.invoke('Read4442Card', { data: '00' }));
    expect(missing.code).toBe('FUNCTION_MISSING');
    expect(d.health()).toMatchObject({ state: 'ready', restarts: 0 });
  });

  it('CPU card life: blank, issue, read, buy, read, refund, format', async () => {
    const com = freshCom();
    const d = bridge();
    expect(await d.check('cpu', { com })).toEqual({ rc: -4 }); // empty reader
    reader(com, 'insert-blank');
    expect(await d.check('cpu', { com })).toEqual({ rc: -1 }); // blank card: not (yet) a Tancy card
    expect((await d.read('cpu', { com })).rc).toBe(-13);
    expect(await d.cpu.writeNew({ com, cardNo: KH, gas: 100, count: 1, meterKind: 2 })).toEqual({ rc: 0 });
    expect(await d.cpu.writeNew({ com, cardNo: KH, gas: 100, count: 1, meterKind: 2 })).toEqual({ rc: -15 });
    expect(await d.check('cpu', { com })).toEqual({ rc: 0 });
    expect(await d.read('cpu', { com })).toEqual({ rc: 0, cardNo: KH, gas: 100, count: 1, meterKind: 2 });
    expect(await d.cpu.buy({ com, cardNo: '3701020026', gas: 5, count: 2 })).toEqual({ rc: -16 });
    expect(await d.cpu.buy({ com, cardNo: KH, gas: 50, count: 2 })).toEqual({ rc: 0 });
    expect(await d.read('cpu', { com })).toEqual({ rc: 0, cardNo: KH, gas: 50, count: 2, meterKind: 2 });
    expect(await d.cpu.buy({ com, cardNo: KH, gas: 0, count: 3 })).toEqual({ rc: 0 }); // refund: gas 0
    expect(await d.read('cpu', { com })).toEqual({ rc: 0, cardNo: KH, gas: 0, count: 3, meterKind: 2 });
    expect(await d.readUsage('cpu', { com })).toEqual({ rc: 0, written: false, status: 0, lastCode: 0, months: [] });
    expect(await d.cpu.format({ com, cardNo: '3701020026' })).toEqual({ rc: -16 });
    expect(await d.cpu.format({ com, cardNo: KH })).toEqual({ rc: 0 });
    expect(await d.check('cpu', { com })).toEqual({ rc: -1 });
    expect(await d.listTools('cpu')).toEqual({
      rc: 0,
      kinds: ['CLEAR', 'VALVE_OPEN', 'VALVE_CLOSE', 'CHECK', 'TRANSFER'],
    });
    expect(await d.cpu.makeTool({ com, kind: 'TRANSFER', params: { cardNo: KH } })).toEqual({ rc: 0 });
    expect(await d.check('cpu', { com })).toEqual({ rc: 1 }); // a tool card
    expect((await d.read('cpu', { com })).rc).toBe(-8);
    const raw = await d.invoke('ReadCpuCard', { com });
    expect(raw.$out).toEqual({
      kh: {
        size: 64,
        len: 0,
        terminated: true,
        touchedBytes: 0,
        overflowBytes: 0,
        writtenBytes: 1,
        specMax: 32,
        beyondSpecBytes: 0,
      },
    });
  });

  it('shares the simulated card with the C stand-in (same file, same bytes)', async () => {
    const lib = koffi.load(C_STANDIN);
    try {
      const cWriteNew = lib.func('int WriteNewCpuCard(int16_t com, const char *kh, int ql, int16_t cs, int16_t klx)');
      const cRead = lib.func(
        'int ReadCpuCard(int16_t com, _Out_ uint8_t *kh, _Out_ int *ql, _Out_ int16_t *cs, _Out_ int16_t *klx)',
      );
      const cInsertBlank = lib.func('int StandInCpuInsertBlank(int16_t com)');
      const cGetData = lib.func('int StandInCpuGetData(int16_t com, _Out_ uint8_t *out, int outSize)');
      const getData = (com: number) => {
        const b = Buffer.alloc(600);
        expect(cGetData(com, b, b.length)).toBe(0);
        return b.toString('latin1', 0, b.indexOf(0));
      };
      const [a, b, c] = [freshCom(), freshCom(), freshCom()];
      const d = bridge();
      // Same issue through each stand-in: byte-identical card images.
      expect(cInsertBlank(a)).toBe(0);
      expect(cWriteNew(a, '88', 4, 1, 1)).toBe(0);
      reader(b, 'insert-blank');
      expect(await d.cpu.writeNew({ com: b, cardNo: '88', gas: 4, count: 1, meterKind: 1 })).toEqual({ rc: 0 });
      expect(getData(b)).toMatch(/^[0-9A-F]{512}$/);
      expect(getData(b)).toBe(getData(a));
      expect(reader(b, 'get-data')).toBe(getData(a));
      // Issued by C, sold by the bridge, read back by C.
      expect(cInsertBlank(c)).toBe(0);
      expect(cWriteNew(c, '4711', 10, 1, 2)).toBe(0);
      expect(await d.read('cpu', { com: c })).toEqual({ rc: 0, cardNo: '4711', gas: 10, count: 1, meterKind: 2 });
      expect(await d.cpu.buy({ com: c, cardNo: '4711', gas: 33, count: 2 })).toEqual({ rc: 0 });
      const kh = Buffer.alloc(64);
      const ql = [0];
      const cs = [0];
      const klx = [0];
      expect(cRead(c, kh, ql, cs, klx)).toBe(0);
      expect([kh.toString('latin1', 0, kh.indexOf(0)), ql[0], cs[0], klx[0]]).toEqual(['4711', 33, 2, 2]);
      expect(readFileSync(join(sim, `com${c}.card`), 'utf8')).toMatch(/^card=1\npsam=1\ndata=[0-9A-F]{512}\n$/);
    } finally {
      lib.unload();
    }
  });

  it('PSAM missing gives -100 with a PSAM text; no card gives -4', async () => {
    const com = freshCom();
    const d = bridge();
    reader(com, 'insert-blank');
    expect(await d.cpu.writeNew({ com, cardNo: KH, gas: 10, count: 1, meterKind: 1 })).toEqual({ rc: 0 });
    expect(reader(com, 'psam-off')).toBe('rc=0');
    expect(await d.check('cpu', { com })).toEqual({ rc: 0 }); // identifying a card needs no PSAM
    expect((await d.read('cpu', { com })).rc).toBe(-100);
    expect(await d.cpu.buy({ com, cardNo: KH, gas: 5, count: 2 })).toEqual({ rc: -100 });
    expect(await d.cpu.format({ com, cardNo: KH })).toEqual({ rc: -100 });
    expect(await d.errorText(-100)).toEqual({ rc: 0, text: expect.stringMatching(/PSAM.*PSAM not present/) });
    reader(com, 'psam-on');
    expect(await d.read('cpu', { com })).toEqual({ rc: 0, cardNo: KH, gas: 10, count: 1, meterKind: 1 });
    reader(com, 'remove');
    expect(await d.check('cpu', { com })).toEqual({ rc: -4 });
    expect((await d.read('cpu', { com })).rc).toBe(-4);
    expect(await d.cpu.buy({ com, cardNo: KH, gas: 5, count: 2 })).toEqual({ rc: -4 });
    expect(await d.errorText(-4)).toEqual({ rc: 0, text: expect.stringContaining('无卡') });
  });

  it('a vendor exception is a failed card operation (-7 read, -10 write) logged with its message; the host lives on', async () => {
    const com = freshCom();
    const log: LogLine[] = [];
    const d = bridge({ logger: collectingLogger(log) });
    reader(com, 'insert-blank');
    expect(await d.cpu.writeNew({ com, cardNo: KH, gas: 10, count: 1, meterKind: 1 })).toEqual({ rc: 0 });
    const pid = (await d.info()).pid;
    reader(com, 'fault:throw');
    const r = await d.invoke('ReadCpuCard', { com });
    expect(r).toMatchObject({ rc: -7, kh: '', ql: 0, $exception: 'System.InvalidOperationException' });
    reader(com, 'fault:throw');
    expect(await d.cpu.buy({ com, cardNo: KH, gas: 5, count: 2 })).toEqual({ rc: -10 });
    expect(await d.read('cpu', { com })).toEqual({ rc: 0, cardNo: KH, gas: 10, count: 1, meterKind: 1 }); // the failed buy wrote nothing
    expect((await d.info()).pid).toBe(pid);
    await expect
      .poll(
        () =>
          log.filter((l) =>
            String(l.obj.stderr ?? '').includes(
              'vendor exception in BuyCpuCard -> rc -10: System.InvalidOperationException: stand-in',
            ),
          ).length,
      )
      .toBe(1);
    expect(d.health()).toMatchObject({ restarts: 0, state: 'ready' });
  });

  it('vendor output on stdout and Console is noise, never a broken frame', async () => {
    const com = freshCom();
    const log: LogLine[] = [];
    const d = bridge({ logger: collectingLogger(log) });
    const noise: string[] = [];
    d.supervisor.on('noise', (t: string) => noise.push(t));
    reader(com, 'insert-blank');
    expect(await d.cpu.writeNew({ com, cardNo: KH, gas: 7, count: 1, meterKind: 1 })).toEqual({ rc: 0 });
    reader(com, 'fault:noise');
    expect(await d.read('cpu', { com })).toEqual({ rc: 0, cardNo: KH, gas: 7, count: 1, meterKind: 1 });
    expect(await d.check('cpu', { com })).toEqual({ rc: 0 });
    // Raw bytes on fd 1 (no newline, glued to the next frame) are noise; Console.WriteLine went to stderr.
    expect(noise.join('\n')).toContain(`TANCY-RAW-NOISE port ${com}`);
    expect(d.health().noiseLines).toBeGreaterThanOrEqual(1);
    await expect
      .poll(() => log.some((l) => String(l.obj.stderr ?? '').includes(`Tancy stand-in: reader opened on port ${com}`)))
      .toBe(true);
    // Hex in vendor output is masked before it reaches a log.
    expect(log.some((l) => String(l.obj.noise ?? '').includes('<hex:12>'))).toBe(true);
    expect(d.health()).toMatchObject({ restarts: 0, state: 'ready' });
  });

  it('a crash of the bridge (Environment.FailFast in the vendor) fails that call with DRIVER_CRASHED and the host is respawned', async () => {
    const com = freshCom();
    const d = bridge({ backoff: { initialMs: 50 } });
    reader(com, 'insert-blank');
    expect(await d.cpu.writeNew({ com, cardNo: KH, gas: 3, count: 1, meterKind: 1 })).toEqual({ rc: 0 });
    const pid = (await d.info()).pid;
    reader(com, 'fault:failfast');
    const e = await rejection(d.read('cpu', { com }));
    expect(e.code).toBe('DRIVER_CRASHED');
    expect(e.status).toBe(503);
    expect(e.details).toMatchObject({ function: 'ReadCpuCard', retryAfterSeconds: expect.any(Number) });
    expect(await d.read('cpu', { com })).toEqual({ rc: 0, cardNo: KH, gas: 3, count: 1, meterKind: 1 });
    expect((await d.info()).pid).not.toBe(pid);
    expect(d.health()).toMatchObject({ state: 'ready', restarts: 1, lastError: { code: 'DRIVER_CRASHED' } });
  });

  it('a hung vendor call times out (DRIVER_TIMEOUT) and the next call is served', async () => {
    const com = freshCom();
    const d = bridge({ callTimeoutMs: 1_500, backoff: { initialMs: 50 } });
    reader(com, 'insert-blank');
    expect(await d.check('cpu', { com })).toEqual({ rc: -1 });
    reader(com, 'fault:hang');
    expect((await rejection(d.check('cpu', { com }))).code).toBe('DRIVER_TIMEOUT');
    expect(await d.check('cpu', { com })).toEqual({ rc: -1 });
  });

  it('refuses values that cannot cross the interface (BAD_INPUT) and bad libraries (LIBRARY_LOAD_FAILED)', async () => {
    const d = bridge();
    const bad = await rejection(d.invoke('ReadCpuCard', { com: 70_000 }));
    expect(bad).toMatchObject({ code: 'BAD_INPUT', details: { field: 'com' } });
    const notThere = bridge({ libraryPath: join(sim, 'no-such.dll'), backoff: { initialMs: 60_000 } });
    const e1 = await rejection(notThere.info());
    expect(e1.code).toBe('LIBRARY_LOAD_FAILED');
    const native = bridge({ libraryPath: C_STANDIN, backoff: { initialMs: 60_000 } });
    const e2 = await rejection(native.info());
    expect(e2.code).toBe('LIBRARY_LOAD_FAILED');
    expect(e2.en).toMatch(/not a \.NET assembly/);
  });

  it('the tancy-ic profile maps the interface onto a Tancy_IC-shaped API (OpenCard/SaleGas/InitCard/...)', async () => {
    const com = freshCom();
    const d = bridge({ args: ['--profile', 'tancy-ic', '--set', 'baud=9600'] });
    const info = await d.info();
    expect(info.functions).toEqual([
      'WriteNewCpuCard',
      'ReadCpuCard',
      'BuyCpuCard',
      'FormatCpuCard',
      'CheckCpuCard',
      'GasCardInterfaceVersion',
      'GasCardErrorText',
    ]);
    expect(info.missing).toEqual(expect.arrayContaining(['MakeToolCpu', 'ListToolCards', 'ReadUsageCpu']));
    expect(info.interfaceVersion).toBe('1.0');
    expect(await d.check('cpu', { com })).toEqual({ rc: -4 }); // vendor 3 -> no card
    reader(com, 'insert-blank');
    expect(await d.check('cpu', { com })).toEqual({ rc: -1 });
    expect(await d.cpu.writeNew({ com, cardNo: KH, gas: 20, count: 1, meterKind: 2 })).toEqual({ rc: 0 });
    // Never wipes an issued card.
    expect(await d.cpu.writeNew({ com, cardNo: KH, gas: 20, count: 1, meterKind: 2 })).toEqual({ rc: -15 });
    expect(await d.read('cpu', { com })).toEqual({ rc: 0, cardNo: KH, gas: 20, count: 1, meterKind: 2 });
    expect(await d.cpu.buy({ com, cardNo: '1', gas: 5, count: 2 })).toEqual({ rc: -16 });
    expect(await d.cpu.buy({ com, cardNo: KH, gas: 45, count: 2 })).toEqual({ rc: 0 });
    expect(await d.read('cpu', { com })).toEqual({ rc: 0, cardNo: KH, gas: 45, count: 2, meterKind: 2 });
    reader(com, 'psam-off');
    expect((await d.read('cpu', { com })).rc).toBe(-100); // vendor 99 -> PSAM
    reader(com, 'psam-on');
    expect(await d.errorText(-1004)).toEqual({ rc: 0, text: expect.stringContaining('Tancy library code 4') });
    expect(await d.errorText(-100)).toEqual({ rc: 0, text: expect.stringContaining('PSAM') });
    expect(await d.cpu.format({ com, cardNo: KH })).toEqual({ rc: 0 });
    expect(await d.check('cpu', { com })).toEqual({ rc: -1 });
    // The same card file: the interface-shaped stand-in sees the blank card too.
    expect(reader(com, 'get-data')).toBe('F'.repeat(512));
  });

  it('starts with the bridge settings of plugins/tancy/meterhub-plugin.json', async () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'plugins/tancy/meterhub-plugin.json'), 'utf8')) as {
      library: Record<string, string>;
      bridge: { exe: Record<string, string>; args: string[] };
    };
    for (const platform of ['win32-ia32', 'win32-x64']) {
      // The bridge sits next to the maker's assembly, so the vendor's own DLLs are found beside it.
      expect(dirname(manifest.bridge.exe[platform]!)).toBe(dirname(manifest.library[platform]!));
      expect(manifest.bridge.exe[platform]).toMatch(/MeterHub\.TancyBridge\.exe$/);
    }
    const com = freshCom();
    const d = bridge({ args: manifest.bridge.args });
    expect((await d.info()).functions).toContain('BuyCpuCard');
    reader(com, 'insert-blank');
    expect(await d.cpu.writeNew({ com, cardNo: KH, gas: 1, count: 1, meterKind: 1 })).toEqual({ rc: 0 });
  });

  it('diagnose reports a missing PSAM in Chinese and English with exit code 3', () => {
    const com = freshCom();
    reader(com, 'insert-blank');
    reader(com, 'psam-off');
    const r = spawnSync('mono', [BRIDGE, '--diagnose', STANDIN, '--com', String(com)], {
      env: { ...process.env, METERHUB_SIM_CPU_DIR: sim },
      encoding: 'utf8',
    });
    expect(r.status).toBe(3);
    expect(r.stdout).toContain('PSAM 未插入');
    expect(r.stdout).toContain('PSAM missing');
    reader(com, 'psam-on');
    const ok = spawnSync('mono', [BRIDGE, '--diagnose', STANDIN, '--com', String(com)], {
      env: { ...process.env, METERHUB_SIM_CPU_DIR: sim },
      encoding: 'utf8',
    });
    expect(ok.status).toBe(0);
  });

  for (const how of ['$shutdown', 'stdin EOF'] as const) {
    it(`exits with code 0 on ${how}`, async () => {
      const child = spawn('mono', [BRIDGE], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, METERHUB_SIM_CPU_DIR: sim },
      });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => {
        out += s;
      });
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      await expect.poll(() => out.includes('"event":"ready"'), { timeout: 20_000 }).toBe(true);
      child.stdin.write(`${JSON.stringify({ id: 1, method: '$load', params: { path: STANDIN } })}\n`);
      await expect.poll(() => out.includes('"id":1,"result"'), { timeout: 20_000 }).toBe(true);
      if (how === '$shutdown') child.stdin.write(`${JSON.stringify({ id: 2, method: '$shutdown' })}\n`);
      else child.stdin.end();
      expect(await exited).toBe(0);
      if (how === '$shutdown') expect(out).toContain(`${FRAME_MARKER}{"id":2,"result":{"ok":true}}\n`);
      expect(existsSync(BRIDGE)).toBe(true);
    });
  }
});
