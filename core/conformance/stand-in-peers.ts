/**
 * The other makers' libraries a library must not confuse itself with: by default every bundled plugin's
 * library for this platform. The seed assumes no two makers ever claim the same card; the kit proves it.
 */
import { resolve } from 'node:path';
import { BUNDLED_PLUGINS_DIR, discoverPlugins } from '../plugins/discovery.ts';
import { librariesOf, libraryFor, loadManifest } from '../plugins/manifest.ts';
import type { Peer } from './kit.ts';

/**
 * Every bundled plugin but the one under test, with all its libraries: the driver host (maybe a 32-bit
 * runtime under --exec-path) picks the one for its own platform-arch. A peer whose library is missing is
 * kept: the kit reports it as a check it could not make (finding peer-unavailable), never drops it.
 * A peer is asked only for the card types its plugin declares.
 */
export function bundledPeers(exclude: string, bundledDir = BUNDLED_PLUGINS_DIR): Peer[] {
  const out: Peer[] = [];
  for (const src of discoverPlugins({ bundledDir })) {
    const loaded = loadManifest(src.dir);
    const libraries = librariesOf(loaded);
    if (Object.values(libraries).some((l) => resolve(l) === resolve(exclude))) continue;
    const library = libraryFor(loaded) ?? Object.values(libraries)[0]!;
    out.push({
      name: loaded.manifest.id,
      library,
      libraries,
      cardTypes: loaded.manifest.cardTypes,
      ...(loaded.manifest.symbols ? { symbols: loaded.manifest.symbols } : {}),
    });
  }
  return out;
}
