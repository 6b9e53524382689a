/**
 * The bundled driver hosts (scripts/build-host.mjs): plain JavaScript that a bare `node` runs, with no tsx
 * loader (faster start, tens of MB less per host, and any Node ≥ 20 — a 32-bit node.exe too). A bundle is
 * used only while no source it was built from is newer, so an edited host never runs stale code: without a
 * fresh bundle the supervisor falls back to the TypeScript entry through tsx.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const HOST_BUNDLE_DIR = join(ROOT, 'build', 'driver-host');

interface BundleIndex {
  entries: Record<string, string>;
  bundles: string[];
  inputs: string[];
}

let checked: { index: BundleIndex; fresh: boolean } | null | undefined;

function index(): { index: BundleIndex; fresh: boolean } | null {
  if (checked !== undefined) return checked;
  checked = null;
  try {
    const idx = JSON.parse(readFileSync(join(HOST_BUNDLE_DIR, 'inputs.json'), 'utf8')) as BundleIndex;
    const built = Math.min(...idx.bundles.map((b) => statSync(join(HOST_BUNDLE_DIR, b)).mtimeMs));
    const fresh = idx.inputs.every((f) => existsSync(join(ROOT, f)) && statSync(join(ROOT, f)).mtimeMs <= built);
    checked = { index: idx, fresh };
  } catch {
    // No bundle (not built, or esbuild absent): the TypeScript entry through tsx.
  }
  return checked;
}

/** The bundle built from this host entry (a .ts path), if it exists and is up to date. */
export function bundledHostFor(entry: string): string | undefined {
  const i = index();
  if (!i?.fresh) return undefined;
  const name = i.index.entries[relative(ROOT, resolve(entry)).split('\\').join('/')];
  return name ? join(HOST_BUNDLE_DIR, name) : undefined;
}
