/**
 * Tancy through its .NET bridge, the way a counter PC runs it: a plugin whose manifest declares a .NET assembly
 * (libraryKind dotnet) and names a bridge program as the driver host. Here the bridge runs under Mono on Linux
 * and loads the C# stand-in assembly;
 * the same plugin contract as every maker must hold.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPluginHost } from '../../core/plugins/plugin-host.ts';
import type { PluginHost } from '../../core/plugins/plugin-types.ts';
import { pluginContract } from './plugin-contract.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const monoPresent = spawnSync('mono', ['--version']).status === 0;
if (!monoPresent && process.env.CI === 'true') throw new Error('mono is required in CI (apt mono-runtime mono-mcs)');

const work = mkdtempSync(join(tmpdir(), 'mh-tancy-net-'));
process.env.METERHUB_SIM_CPU_DIR = join(work, 'sim-cpu');
const platform = `${process.platform}-${process.arch}`;
let host: PluginHost;

beforeAll(async () => {
  if (!monoPresent) return;
  const b = spawnSync(process.execPath, [join(ROOT, 'plugins/tancy/bridge/build.mjs')], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  expect(b.status, b.stderr).toBe(0);
  const dir = join(work, 'makers', 'tancy-net');
  mkdirSync(dir, { recursive: true });
  const tancy = join(ROOT, 'plugins/tancy');
  writeFileSync(
    join(dir, 'meterhub-plugin.json'),
    JSON.stringify({
      id: 'tancy-net',
      name: { 'zh-CN': '天信（.NET 桥接）', en: 'Tancy (.NET bridge)' },
      cardTypes: ['cpu'],
      library: { [platform]: join(ROOT, 'build/tancy/Tancy.StandIn.dll') },
      // A .NET assembly must say so: only a library declared dotnet goes to the bridge (issue 14).
      libraryKind: { [platform]: 'dotnet' },
      bridge: { exe: { [platform]: 'mono' }, args: [join(ROOT, 'build/tancy/MeterHub.TancyBridge.exe')] },
      standIn: true,
      driver: { callTimeoutMs: 20000 },
      catalogues: {
        returnCodes: join(tancy, 'catalogues/return-codes.json'),
        toolCards: join(tancy, 'catalogues/tool-cards.json'),
      },
    }),
  );
  host = await createPluginHost({
    dataDir: join(work, 'data'),
    bundledDir: null,
    pluginPaths: [join(work, 'makers')],
    ignoreEnv: true,
  });
  await host.enable('tancy-net');
}, 180_000);
afterAll(async () => {
  await host?.close();
  rmSync(work, { recursive: true, force: true });
});

describe.runIf(monoPresent)('Tancy CPU cards through the Mono-run .NET bridge', () => {
  it('the driver host is the bridge, not Node', async () => {
    const info = await host.driver('tancy-net').info();
    expect(info.runtime).toMatch(/mono|\.net|clr/i);
    expect(info.functions).toEqual(
      expect.arrayContaining(['WriteNewCpuCard', 'ReadCpuCard', 'BuyCpuCard', 'FormatCpuCard', 'CheckCpuCard']),
    );
  });

  it('reports no card as -4 and a missing PSAM as -100, which the catalogue explains', async () => {
    const d = host.driver('tancy-net');
    expect((await d.read('cpu', { com: 9 })).rc).toBe(-4);
    simulator(
      `lib.func('int StandInCpuInsertBlank(int16_t com)')(8); lib.func('int StandInCpuSetPsam(int16_t com, int p)')(8, 0);`,
    );
    expect((await d.cpu.writeNew({ com: 8, cardNo: '1', gas: 1, count: 1, meterKind: 1 })).rc).toBe(-100);
    expect(host.returnCodes('tancy-net').find((c) => c.code === '-100')?.zh).toContain('PSAM');
  });
});

// The same contract every maker plugin meets; the blank card goes in through the C stand-in's simulator,
// which shares the card file format with the C# stand-in.
/** Drives the simulated reader through the C stand-in (same card-file format as the C# stand-in). */
function simulator(code: string): void {
  const lib = join(ROOT, 'plugins/tancy/lib', platform, 'libgascard_tancy.so');
  const r = spawnSync(
    process.execPath,
    ['-e', `const k = require('koffi'); const lib = k.load(${JSON.stringify(lib)}); ${code}`],
    { cwd: ROOT, env: process.env, encoding: 'utf8' },
  );
  expect(r.status, r.stderr).toBe(0);
}

if (monoPresent) {
  pluginContract('tancy-net', () => ({
    host,
    insertBlankCpuCard: (com: number) =>
      simulator(
        `lib.func('int StandInCpuInsertBlank(int16_t com)')(${com}); lib.func('int StandInCpuSetPsam(int16_t com, int p)')(${com}, 1);`,
      ),
  }));
}
