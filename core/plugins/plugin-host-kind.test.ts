/**
 * The manifest's libraryKind picks the driver host (issue 14, "Tancy both ways"): a native library goes to the
 * Node driver host (koffi) even when the manifest lists a bridge for the platform, a .NET assembly to the bridge.
 * Both Tancy stand-ins run for real: libgascard_tancy.so (替身库) and Tancy.StandIn.dll (替身程序集) under Mono,
 * and they share one simulated CPU card. Needs mono and mcs (as plugins/tancy/bridge/tancy-bridge.test.ts).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMeterHubError } from '../errors/meterhub-error.ts';
import { createPluginHost } from './plugin-host.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const BRIDGE = join(ROOT, 'build/tancy/MeterHub.TancyBridge.exe');
const STANDIN = join(ROOT, 'build/tancy/Tancy.StandIn.dll');
const NATIVE = join(ROOT, 'plugins/tancy/lib/linux-x64/libgascard_tancy.so');
const PLATFORM = `${process.platform}-${process.arch}`;
const work = mkdtempSync(join(tmpdir(), 'mh-host-kind-'));
const sim = join(work, 'sim');

const has = (cmd: string) => spawnSync(cmd, ['--version'], { encoding: 'utf8' }).status === 0;
const monoMissing = !has('mono') || !has('mcs');
if (monoMissing && process.env.CI === 'true') {
  throw new Error('mono and mcs are required in CI (apt-get install mono-mcs mono-runtime)');
}

beforeAll(() => {
  mkdirSync(sim);
  // The plugin host starts drivers with this process's environment: both stand-ins find the card here.
  process.env.METERHUB_SIM_CPU_DIR = sim;
  if (!monoMissing && !existsSync(STANDIN)) {
    execFileSync(process.execPath, [join(ROOT, 'plugins/tancy/bridge/build.mjs')], { cwd: ROOT });
  }
}, 180_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A Tancy-like plugin that lists the bridge for this platform, so only libraryKind decides the host. */
function plugin(name: string, library: string, kind: 'native' | 'dotnet' | undefined): string {
  const dir = join(work, 'plugins', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'meterhub-plugin.json'),
    JSON.stringify({
      id: name,
      name: { 'zh-CN': name, en: name },
      cardTypes: ['cpu'],
      library: { [PLATFORM]: library },
      ...(kind ? { libraryKind: { [PLATFORM]: kind } } : {}),
      standIn: true,
      driver: { callTimeoutMs: 30_000 },
      bridge: { exe: { [PLATFORM]: 'mono' }, args: [BRIDGE, '--profile', 'auto'] },
      catalogues: { returnCodes: [], toolCards: [] },
    }),
  );
  return dir;
}

async function hostFor(...dirs: string[]) {
  const host = await createPluginHost({
    bundledDir: null,
    pluginPaths: dirs,
    ignoreEnv: true,
    dataDir: join(work, 'data'),
  });
  for (const p of host.list()) await host.enable(p.id);
  return host;
}

function insertBlank(com: number): void {
  execFileSync('mono', [BRIDGE, '--standin', STANDIN, 'insert-blank', '--com', String(com)], { env: process.env });
}

describe.skipIf(monoMissing)('libraryKind picks the driver host', () => {
  it('native (declared or by default) goes to the koffi host, dotnet to the bridge; both serve one card', async () => {
    const host = await hostFor(
      plugin('tnative', NATIVE, 'native'),
      plugin('tdefault', NATIVE, undefined),
      plugin('tdotnet', STANDIN, 'dotnet'),
    );
    try {
      const native = await host.driver('tnative').info();
      expect(native.runtime).toMatch(/^node /);
      expect(native.library).toBe(NATIVE);
      expect((await host.driver('tdefault').info()).runtime).toMatch(/^node /);
      const dotnet = await host.driver('tdotnet').info();
      expect(dotnet.runtime).not.toMatch(/^node /);
      expect(dotnet.pid).not.toBe(native.pid);
      expect(dotnet.functions).toContain('BuyCpuCard');
      // Issue through the native stand-in, read back through the .NET one: same card, two shapes.
      insertBlank(21);
      const issue = { com: 21, cardNo: '3701020025', gas: 7, count: 1, meterKind: 1 };
      expect(await host.driver('tnative').cpu.writeNew(issue)).toEqual({ rc: 0 });
      const back = await host.driver('tdotnet').read('cpu', { com: 21 });
      expect(back).toMatchObject({ rc: 0, cardNo: '3701020025', gas: 7 });
    } finally {
      await host.close();
    }
  }, 180_000);

  it('a dotnet declaration without a bridge for that platform is an invalid plugin, never a koffi load', async () => {
    const dir = join(work, 'plugins', 'tnobridge');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'meterhub-plugin.json'),
      JSON.stringify({
        id: 'tnobridge',
        name: { 'zh-CN': 'x', en: 'x' },
        cardTypes: ['cpu'],
        library: { [PLATFORM]: STANDIN },
        libraryKind: { [PLATFORM]: 'dotnet' },
        catalogues: { returnCodes: [], toolCards: [] },
      }),
    );
    const host = await hostFor(dir);
    try {
      expect(host.get('tnobridge')).toBeUndefined();
      const bad = host.invalid().find((p) => p.id === 'tnobridge');
      expect(bad).toBeDefined();
      expect(JSON.stringify(bad)).toContain(`bridge.exe.${PLATFORM}`);
      const e = (() => {
        try {
          host.driver('tnobridge');
          return undefined;
        } catch (err) {
          return err;
        }
      })();
      expect(isMeterHubError(e) && e.code).toBe('PLUGIN_UNKNOWN');
    } finally {
      await host.close();
    }
  });
});
