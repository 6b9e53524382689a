// Test-only: `node --import ./core/testing/module-trace.mjs …` appends every file module the process loads to the
// file named by MODULE_TRACE, one URL a line, so a test can prove what a command does NOT load.
import { register } from 'node:module';

register('./module-trace-hook.mjs', import.meta.url, { data: { file: process.env.MODULE_TRACE } });
