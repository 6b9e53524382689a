/**
 * Every bundled plugin's declared frames (manifest telemetry.testVectors) decode as the maker says, like a
 * wmbusmeters driver carrying its own telegrams. A maker adds a capture to its vectors file, not to this test.
 */
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadManifest } from '../core/plugins/manifest.ts';
import { registerPluginProfiles } from '../core/plugins/plugin-profiles.ts';
import { runFrameVector, testVectorsOf } from '../core/plugins/telemetry-vectors.ts';
import { ProfileRegistry, readProfileFile } from '../core/telemetry/profile-registry.ts';

const dir = import.meta.dirname;
const plugins = readdirSync(dir)
  .filter((d) => existsSync(join(dir, d, 'meterhub-plugin.json')))
  .sort();
const profiles = new ProfileRegistry();
registerPluginProfiles(profiles, { bundledDir: dir, ignoreEnv: true, dataDir: null });

describe('bundled plugins: declared telemetry test vectors', () => {
  it('a plugin that declares profiles ships vectors for each of them', () => {
    const declaring = plugins.filter((p) => loadManifest(join(dir, p)).profileFiles.length > 0);
    expect(declaring).toEqual(['chint']);
    for (const p of declaring) {
      const loaded = loadManifest(join(dir, p));
      const covered = new Set(testVectorsOf(loaded).map((v) => v.profile));
      expect(loaded.profileFiles.map((f) => readProfileFile(f).name).filter((name) => !covered.has(name))).toEqual([]);
    }
  });

  for (const p of plugins) {
    const vectors = testVectorsOf(loadManifest(join(dir, p)));
    if (vectors.length === 0) continue;
    it(`${p}: ${vectors.length} frames decode as declared`, () => {
      const results = vectors.map((v) => runFrameVector(v, profiles));
      expect(results.filter((r) => !r.ok)).toEqual([]);
      expect(results.map((r) => r.name)).toEqual(vectors.map((v) => v.name));
    });
  }

  it('chint ships its three frames', () => {
    expect(testVectorsOf(loadManifest(join(dir, 'chint'))).length).toBe(3);
  });
});
