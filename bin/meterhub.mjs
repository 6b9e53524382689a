#!/usr/bin/env node
// `serve` runs its prebuilt bundle (scripts/build-host.mjs) when no source is newer than it: a plain-JS server
// needs no TypeScript loader, which costs tens of MB in the main thread and in the ledger thread (issue 17).
// Everything else — and `serve` from a source newer than its bundle — runs the TypeScript directly through tsx,
// so `npx meterhub` works from a checkout with no build step.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUILD_DIR, freshBundle } from '../core/util/bundle-index.mjs';
import { holdYoungGeneration } from '../core/util/start-memory.mjs';

const command = process.argv.slice(2).find((a) => !a.startsWith('-'));
// The server's start must not leave V8's new space at its maximum for good; `serve` releases it once listening.
if (command === 'serve') holdYoungGeneration();
const bundle = command === 'serve' ? freshBundle(join(BUILD_DIR, 'server'), 'core/cli/serve-main.ts') : undefined;
if (bundle) {
  const { serveMain } = await import(pathToFileURL(bundle).href);
  await serveMain(process.argv);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../core/cli/main.ts');
  await main(process.argv);
}
