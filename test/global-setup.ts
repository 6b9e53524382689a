import { existsSync } from 'node:fs';

/** The stand-in maker libraries are built by `npm test` (scripts/build-native.mjs) before vitest starts. */
export default function setup(): void {
  if (!existsSync('build/native/manifest.json')) {
    throw new Error('native stand-ins are not built: run `node scripts/build-native.mjs` (npm test does this)');
  }
}
