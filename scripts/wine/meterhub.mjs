#!/usr/bin/env node
// bin/meterhub.mjs without tsx, for the Windows Node under wine: esbuild's Windows binary (Go) needs
// bcryptprimitives.dll, which wine 8 lacks. Node 22 runs the TypeScript itself (--experimental-transform-types).
const { main } = await import('../../core/cli/main.ts');
await main(process.argv);
