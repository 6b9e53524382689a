/**
 * The bundled driver hosts (scripts/build-host.mjs): plain JavaScript that a bare `node` runs, with no tsx
 * loader (faster start, tens of MB less per host, and any Node ≥ 20 — a 32-bit node.exe too). A bundle is
 * used only while no source it was built from is newer (core/util/bundle-index.mjs), so an edited host never
 * runs stale code: without a fresh bundle the supervisor falls back to the TypeScript entry through tsx.
 */
import { join } from 'node:path';
import { BUILD_DIR, freshBundle } from '../util/bundle-index.mjs';

export const HOST_BUNDLE_DIR = join(BUILD_DIR, 'driver-host');

/** The bundle built from this host entry (a .ts path), if it exists and is up to date. */
export function bundledHostFor(entry: string): string | undefined {
  return freshBundle(HOST_BUNDLE_DIR, entry);
}
