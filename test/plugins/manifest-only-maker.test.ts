/**
 * A seventh maker added by ops alone: a folder with meterhub-plugin.json, catalogues and a library, put on
 * METERHUB_PLUGIN_PATH. No code changes: it is listed, enabled with the CLI, identified and used.
 * The library is built here from sdk/reference with a stand-in layout of the test's own.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPluginHost } from '../../core/plugins/plugin-host.ts';
import type { PluginHost } from '../../core/plugins/plugin-types.ts';
import { cliBudgetMs } from '../../core/testing/work-budget.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'mh-newmaker-'));
const pluginDir = join(work, 'makers', 'acme');
const dataDir = join(work, 'data');
const platform = `${process.platform}-${process.arch}`;
const libFile = join(pluginDir, 'lib', platform, 'libacme.so');

// Derived from the zenner stand-in layout with a different mark, salt and checksum: a maker of our own.
function writeLayout(): string {
  const zenner = readFileSync(join(ROOT, 'sdk/reference/layouts/zenner.h'), 'utf8');
  const layout = zenner
    .replace(/#define GC_MAKER\s+"zenner"/, '#define GC_MAKER            "acme"')
    .replace(/#define GC_MAKER_ZH\s+"[^"]*"/, '#define GC_MAKER_ZH         "测试表厂"')
    .replace(/#define GC_SALT\s+0x[0-9A-Fa-f]+u/, '#define GC_SALT             0x13572468u')
    .replace(/#define GC_MARK\s+\{[^}]*\}/, '#define GC_MARK             { 0xAC, 0x3E, 0x01 }')
    .replace(/#define GC_TOOL_KINDS\s+"[^"]*"/, '#define GC_TOOL_KINDS       "CLEAR"');
  expect(layout).toContain('"acme"');
  const file = join(work, 'acme-layout.h');
  writeFileSync(file, layout);
  return file;
}

function buildLibrary(layout: string): void {
  mkdirSync(join(pluginDir, 'lib', platform), { recursive: true });
  execFileSync(
    process.env.CC ?? 'cc',
    [
      '-O2',
      '-shared',
      '-fPIC',
      '-fvisibility=hidden',
      `-I${join(ROOT, 'sdk/include')}`,
      `-I${join(ROOT, 'sdk/reference')}`,
      `-DGASCARD_LAYOUT="${layout}"`,
      '-DGASCARD_BUILD',
      join(ROOT, 'sdk/reference/gascard_ref.c'),
      '-o',
      libFile,
    ],
    { stdio: 'pipe' },
  );
}

function writeManifest(): void {
  mkdirSync(join(pluginDir, 'catalogues'), { recursive: true });
  writeFileSync(
    join(pluginDir, 'meterhub-plugin.json'),
    JSON.stringify(
      {
        id: 'acme',
        name: { 'zh-CN': '测试表厂', en: 'Acme Meters' },
        cardTypes: ['102'],
        library: { [platform]: `lib/${platform}/libacme.so` },
        standIn: true,
        catalogues: { returnCodes: 'catalogues/return-codes.json', toolCards: 'catalogues/tool-cards.json' },
      },
      null,
      2,
    ),
  );
  writeFileSync(
    join(pluginDir, 'catalogues/return-codes.json'),
    JSON.stringify([{ code: '0', zh: '正常', en: 'Normal', source: 'stand-in / 替身 (test)', standIn: true }]),
  );
  writeFileSync(
    join(pluginDir, 'catalogues/tool-cards.json'),
    JSON.stringify([
      {
        kind: 'CLEAR',
        zh: '清零卡',
        en: 'Clearing card',
        cardTypes: ['102'],
        source: 'stand-in / 替身 (test)',
        standIn: true,
      },
    ]),
  );
}

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/meterhub.mjs'), ...args, '--data', dataDir, '--json'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, METERHUB_PLUGIN_PATH: join(work, 'makers') },
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

let host: PluginHost;

beforeAll(() => {
  writeManifest();
  buildLibrary(writeLayout());
}, 120_000);
afterAll(async () => {
  await host?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('a maker added as a manifest-only folder on METERHUB_PLUGIN_PATH', () => {
  // Three CLI runs, and `plugins list` (probing) starts a driver host per plugin: about ten process starts.
  it(
    'is listed (disabled until ops enable it), then enabled with the CLI',
    () => {
      const before = cli('plugins', 'list', '--no-probe');
      const acme = before.plugins.find((p: { id: string }) => p.id === 'acme');
      expect(acme).toMatchObject({
        enabled: false,
        libraryFound: true,
        standIn: true,
        library: 'stand-in library / 替身库',
      });
      expect(before.plugins.map((p: { id: string }) => p.id)).toEqual(
        expect.arrayContaining(['kingcard', 'tancy', 'acme']),
      );

      expect(cli('plugins', 'enable', 'acme')).toMatchObject({ id: 'acme', enabled: true });
      const after = cli('plugins', 'list');
      expect(after.plugins.find((p: { id: string }) => p.id === 'acme')).toMatchObject({
        enabled: true,
        driver: { state: 'ready' },
      });
    },
    cliBudgetMs(10),
  );

  it('is identified and sells gas through the host with no code change', async () => {
    process.env.METERHUB_PLUGIN_PATH = join(work, 'makers');
    try {
      host = await createPluginHost({ dataDir });
    } finally {
      delete process.env.METERHUB_PLUGIN_PATH;
    }
    const d = host.driver('acme');
    const issued = await d.writeNew('102', { cardNo: '880001', gas: 10, count: 1, meterKind: 1 });
    expect(issued.rc).toBe(0);
    await expect(host.identify('102', issued.data)).resolves.toMatchObject({ maker: 'acme', kind: 'user' });
    const bought = await d.buy('102', { source: issued.data, cardNo: '880001', gas: 25, count: 2 });
    await expect(d.read('102', bought.data)).resolves.toMatchObject({ rc: 0, cardNo: '880001', gas: 25, count: 2 });

    // Its cards are not zenner's (the layout it was derived from), and zenner's are not its.
    const zennerCard = await host
      .driver('zenner')
      .writeNew('102', { cardNo: '880001', gas: 10, count: 1, meterKind: 1 });
    await expect(host.identify('102', zennerCard.data)).resolves.toMatchObject({ maker: 'zenner' });
    expect((await d.check('102', zennerCard.data)).rc).toBe(-1);
  });

  it(
    'passes conformance as a library ops received',
    () => {
      const r = spawnSync(
        process.execPath,
        [join(ROOT, 'bin/meterhub.mjs'), 'conformance', '--lib', libFile, '--json'],
        { cwd: ROOT, encoding: 'utf8' },
      );
      const report = JSON.parse(r.stdout);
      expect(report.checks.filter((c: { status: string }) => c.status !== 'pass')).toEqual([]);
      expect(report).toMatchObject({ cardTypes: ['102'], passed: true });
      expect(r.status).toBe(0);
    },
    cliBudgetMs(8),
  ); // the kit starts the library's host and one per peer maker
});
