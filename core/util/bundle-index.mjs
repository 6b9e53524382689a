// Which prebuilt bundle may run (scripts/build-host.mjs writes them): plain JavaScript so that bin/meterhub.mjs can
// ask before any TypeScript loader exists, and the one rule that bin, the build script and the TypeScript callers
// (core/driver/host-bundle.ts, core/ledger/thread/ledger-thread.ts) share. Types: bundle-index.d.mts.
//
// A bundle directory holds <name>.mjs files and inputs.json: { entries: {source.ts: name.mjs}, bundles, inputs }.
// A bundle is used only while no source it was built from is newer than the oldest bundle of its directory, so an
// edited source never runs as stale code: the caller falls back to the TypeScript through tsx.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BUILD_DIR = join(ROOT, 'build');

const cache = new Map();

/** The index of a bundle directory with its freshness (cached per process), or null when there is none. */
export function bundleIndex(dir) {
  if (cache.has(dir)) return cache.get(dir);
  let found = null;
  try {
    const index = JSON.parse(readFileSync(join(dir, 'inputs.json'), 'utf8'));
    const built = Math.min(...index.bundles.map((b) => statSync(join(dir, b)).mtimeMs));
    const fresh = index.inputs.every((f) => existsSync(join(ROOT, f)) && statSync(join(ROOT, f)).mtimeMs <= built);
    found = { index, fresh };
  } catch {
    // Not built (or esbuild absent at install): callers use the TypeScript entry through tsx.
  }
  cache.set(dir, found);
  return found;
}

/** The bundle built from `entry` (a .ts path, absolute or relative to the repository) if it is up to date. */
export function freshBundle(dir, entry) {
  const i = bundleIndex(dir);
  if (!i?.fresh) return undefined;
  const name = i.index.entries[relative(ROOT, resolve(ROOT, entry)).split('\\').join('/')];
  return name ? join(dir, name) : undefined;
}
