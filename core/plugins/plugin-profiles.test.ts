/** The plugin host pushes plugins' dialect profiles into the registry the program passes, by enabled state. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ProfileRegistry } from '../telemetry/profile-registry.ts';
import type { CardDriver } from '../driver/card-driver.ts';
import { createPluginHost } from './plugin-host.ts';
import { registerPluginProfiles } from './plugin-profiles.ts';

const work = mkdtempSync(join(tmpdir(), 'mh-plugin-profiles-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const noDriver = () => {
  throw new Error('no driver in this test');
};
const profile = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  diOrder: 'be',
  clockOrder: 'le',
  preamble: 2,
  source: 'test',
  ...extra,
});

/** A maker folder declaring the given profile files (name -> content; a string is written as is). */
function makerFolder(parent: string, id: string, files: Record<string, unknown>): string {
  const dir = join(parent, id);
  mkdirSync(join(dir, 'telemetry'), { recursive: true });
  for (const [f, content] of Object.entries(files)) {
    writeFileSync(join(dir, 'telemetry', f), typeof content === 'string' ? content : JSON.stringify(content));
  }
  writeFileSync(
    join(dir, 'meterhub-plugin.json'),
    JSON.stringify({
      id,
      name: { 'zh-CN': id, en: id },
      cardTypes: ['4442'],
      library: { 'linux-x64': 'lib/x.so' },
      catalogues: { returnCodes: [], toolCards: [] },
      telemetry: { profiles: Object.keys(files).map((f) => `telemetry/${f}`) },
    }),
  );
  return dir;
}

describe('plugin profiles in the program registry', () => {
  it('registers enabled plugins, holds back disabled ones, and follows enable/disable', async () => {
    const extra = join(work, 'extra');
    makerFolder(extra, 'acme', { 'acme.profile.json': profile('acme') });
    const profiles = new ProfileRegistry();
    const host = await createPluginHost({
      dataDir: join(work, 'data1'),
      ignoreEnv: true,
      pluginPaths: [extra],
      profiles,
      driverFactory: noDriver as () => CardDriver,
    });
    try {
      // Bundled chint starts enabled; a plugin from a plugin path starts disabled.
      expect(profiles.get('chint').maker).toBe('chint');
      expect(profiles.ownerOf('chint')).toBe('chint');
      expect(() => profiles.get('acme')).toThrow(
        expect.objectContaining({ code: 'TELEMETRY_PROFILE_DISABLED', details: { name: 'acme', plugin: 'acme' } }),
      );
      expect(profiles.list().map((p) => p.name)).toEqual(['be', 'chint', 'cjt188-company', 'le']);

      await host.enable('acme');
      expect(profiles.get('acme')).toMatchObject({ diOrder: 'be', preamble: 2 });
      await host.disable('chint');
      expect(() => profiles.get('chint')).toThrow(/TELEMETRY_PROFILE_DISABLED/);
      expect(profiles.list().map((p) => p.name)).toEqual(['acme', 'be', 'cjt188-company', 'le']);
      await host.enable('chint');
      expect(profiles.get('chint').name).toBe('chint');
      expect(profiles.loadErrors()).toEqual([]);
    } finally {
      await host.close();
    }
  });

  it('a broken or name-stealing profile costs that dialect only, recorded as a load error', async () => {
    const extra = join(work, 'bad');
    makerFolder(extra, 'thief', {
      'chint.profile.json': profile('chint'),
      'le.profile.json': profile('le'),
      'ok.profile.json': profile('thief-ok'),
    });
    makerFolder(extra, 'broken', {
      'broken.profile.json': '{ nope',
      'wrong.profile.json': profile('wrong', { diOrder: 'middle' }),
    });
    const data = join(work, 'data2');
    const profiles = new ProfileRegistry();
    const host = await createPluginHost({
      dataDir: data,
      ignoreEnv: true,
      pluginPaths: [extra],
      profiles,
      driverFactory: noDriver as () => CardDriver,
    });
    try {
      await host.enable('thief');
      await host.enable('broken');
      expect(profiles.get('chint').maker).toBe('chint');
      expect(profiles.get('le').preamble).toBe(2);
      expect(profiles.get('le').diOrder).toBe('le');
      expect(profiles.get('thief-ok').diOrder).toBe('be');
      const codes = profiles.loadErrors().map((e) => e.code);
      // Thief's two stolen names and broken's two bad files, once each although every enable pushes again.
      expect(codes).toEqual([
        'TELEMETRY_PROFILE_INVALID',
        'TELEMETRY_PROFILE_INVALID',
        'TELEMETRY_PROFILE_INVALID',
        'TELEMETRY_PROFILE_INVALID',
      ]);
      expect(
        profiles
          .loadErrors()
          .map((e) => e.en)
          .join('\n'),
      ).toMatch(/profile name "chint" is already declared by chint/);
      expect(
        profiles
          .loadErrors()
          .map((e) => e.en)
          .join('\n'),
      ).toMatch(/profile name "le" is already declared by built-in/);
      // The makers' cards are untouched by their dialect files.
      expect(host.get('broken')?.enabled).toBe(true);
      expect(host.invalid()).toEqual([]);
    } finally {
      await host.close();
    }
    // The driverless loader (telemetry, gateway CLI) sees the same set and the same enabled state.
    const again = new ProfileRegistry();
    registerPluginProfiles(again, { ignoreEnv: true, pluginPaths: [extra], dataDir: data });
    expect(again.list().map((p) => p.name)).toEqual(['be', 'chint', 'cjt188-company', 'le', 'thief-ok']);
  });

  it('a program that passes no registry for its host leaves another registry alone', async () => {
    const profiles = new ProfileRegistry();
    const host = await createPluginHost({
      dataDir: join(work, 'data3'),
      ignoreEnv: true,
      profiles: null,
      driverFactory: noDriver as () => CardDriver,
    });
    await host.close();
    expect(profiles.list().map((p) => p.name)).toEqual(['be', 'cjt188-company', 'le']);
  });
});
