import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { discoverPlugins, pluginPathFromEnv } from './discovery.ts';
import { libraryKindFor, loadManifest, validateManifest } from './manifest.ts';
import { PluginStateStore } from './plugin-state-store.ts';

const work = mkdtempSync(join(tmpdir(), 'mh-manifest-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const good = {
  id: 'acme',
  name: { 'zh-CN': '测试', en: 'Acme' },
  cardTypes: ['4442'],
  library: { 'linux-x64': 'lib/libacme.so', 'win32-ia32': 'lib/acme.dll' },
  symbols: { Read4442Card: '_Read4442Card@20', WriteNew4442Card: 'Gold_Writecard' },
  catalogues: { returnCodes: [{ code: '0', zh: '正常', en: 'Normal', source: 'doc' }], toolCards: [] },
};

describe('manifest validation', () => {
  it('accepts a complete manifest', () => {
    expect(validateManifest(good)).toEqual([]);
  });

  it('names every wrong field', () => {
    const problems = validateManifest({
      ...good,
      id: 'Bad Id',
      cardTypes: ['4442', '4428'],
      library: { linux: 5 },
      symbols: { NotAFunction: 'x', Read4442Card: 'has space' },
      driver: { callTimeoutMs: 5 },
    });
    expect(problems.join('\n')).toMatch(/id must match/);
    expect(problems.join('\n')).toMatch(/unknown card type "4428"/);
    expect(problems.join('\n')).toMatch(/library: key "linux" is not platform-arch/);
    expect(problems.join('\n')).toMatch(/symbols: NotAFunction is not an interface function/);
    expect(problems.join('\n')).toMatch(/symbols.Read4442Card must be an exported symbol name/);
    expect(problems.join('\n')).toMatch(/callTimeoutMs/);
  });

  it('libraryKind: native or dotnet per library entry; dotnet needs a bridge there; native by default', () => {
    const bridge = { exe: { 'win32-ia32': 'lib/Bridge.exe' } };
    const kinds = { 'win32-ia32': 'dotnet', 'linux-x64': 'native' };
    expect(validateManifest({ ...good, bridge, libraryKind: kinds })).toEqual([]);
    const problems = validateManifest({
      ...good,
      libraryKind: { 'win32-ia32': 'dotnet', 'linux-x64': 'clr', 'win32-x64': 'native' },
    }).join('\n');
    expect(problems).toMatch(/libraryKind.win32-ia32 is dotnet, so bridge.exe.win32-ia32 must name the bridge program/);
    expect(problems).toMatch(/libraryKind.linux-x64 must be one of native, dotnet/);
    expect(problems).toMatch(/libraryKind.win32-x64: library has no win32-x64 entry/);
    expect(validateManifest({ ...good, libraryKind: ['dotnet'] }).join()).toMatch(/libraryKind must map platform-arch/);
    expect(libraryKindFor({ libraryKind: { 'win32-ia32': 'dotnet' } }, 'win32-ia32')).toBe('dotnet');
    expect(libraryKindFor({ libraryKind: { 'win32-ia32': 'dotnet' } }, 'linux-x64')).toBe('native');
    expect(libraryKindFor({}, 'win32-ia32')).toBe('native');
  });

  it('reports unreadable JSON and bad catalogues with the file path and a stable code', () => {
    const dir = join(work, 'broken');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'meterhub-plugin.json'), '{ "id": ');
    expect(() => loadManifest(dir)).toThrow(
      expect.objectContaining({ code: 'PLUGIN_MANIFEST_INVALID', message: expect.stringContaining('JSON') }),
    );
    writeFileSync(
      join(dir, 'meterhub-plugin.json'),
      JSON.stringify({ ...good, catalogues: { returnCodes: 'rc.json', toolCards: [] } }),
    );
    writeFileSync(
      join(dir, 'rc.json'),
      JSON.stringify([
        { code: '1', zh: 'a', en: 'b', source: 's' },
        { code: '1', zh: 'a', en: 'b', source: 's' },
      ]),
    );
    expect(() => loadManifest(dir)).toThrow(/duplicate code 1/);
    writeFileSync(join(dir, 'rc.json'), JSON.stringify([{ code: '1', zh: 'a', en: 'b' }]));
    expect(() => loadManifest(dir)).toThrow(/needs code, zh, en and source/);
  });
});

describe('plugin discovery', () => {
  it('finds plugin folders and folders of plugin folders, bundled first, without duplicates', () => {
    const a = join(work, 'bundled', 'a');
    const b = join(work, 'extra', 'b');
    for (const d of [a, b]) {
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'meterhub-plugin.json'), JSON.stringify(good));
    }
    const found = discoverPlugins({
      bundledDir: join(work, 'bundled'),
      extraPaths: [join(work, 'extra'), b, join(work, 'missing')],
    });
    expect(found).toEqual([
      { dir: a, bundled: true },
      { dir: b, bundled: false },
    ]);
  });

  it('splits METERHUB_PLUGIN_PATH like NODE_PATH', () => {
    expect(pluginPathFromEnv({ METERHUB_PLUGIN_PATH: `/a${process.platform === 'win32' ? ';' : ':'}/b:` })).toEqual(
      process.platform === 'win32' ? ['/a', '/b:'] : ['/a', '/b'],
    );
  });
});

describe('plugin state store', () => {
  it('persists enable/disable and falls back to the default for unknown plugins', () => {
    const s = new PluginStateStore(join(work, 'state'), 0);
    expect(s.enabled('x', true)).toBe(true);
    s.set('x', false);
    expect(new PluginStateStore(join(work, 'state'), 0).enabled('x', true)).toBe(false);
    writeFileSync(s.file, 'garbage');
    expect(s.enabled('x', true)).toBe(true);
  });
});
