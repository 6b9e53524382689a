/**
 * The other makers' libraries a library must not confuse itself with: by default every bundled plugin's
 * library for this platform. The seed assumes no two makers ever claim the same card; the kit proves it.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { BUNDLED_PLUGINS_DIR, discoverPlugins } from '../plugins/discovery.ts';
import { libraryFor, loadManifest } from '../plugins/manifest.ts';

export function bundledPeers(exclude: string, bundledDir = BUNDLED_PLUGINS_DIR): Array<{ name: string; library: string; symbols?: Record<string, string> }> {
  const out: Array<{ name: string; library: string; symbols?: Record<string, string> }> = [];
  for (const src of discoverPlugins({ bundledDir })) {
    const loaded = loadManifest(src.dir);
    const lib = libraryFor(loaded);
    if (!lib || !existsSync(lib) || resolve(lib) === resolve(exclude)) continue;
    out.push({ name: loaded.manifest.id, library: lib, ...(loaded.manifest.symbols ? { symbols: loaded.manifest.symbols } : {}) });
  }
  return out;
}
