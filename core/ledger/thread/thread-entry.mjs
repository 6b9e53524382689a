// The ledger thread's entry: a worker thread does not inherit the main thread's tsx loader, so it registers
// its own before it loads the TypeScript (the same way bin/meterhub.mjs starts the server).
import { register } from 'tsx/esm/api';

register();
await import('./thread-main.ts');
