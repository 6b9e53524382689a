// The young generation during a program's start (issue 17). Loading and compiling a few hundred modules is an
// allocation burst that makes V8 grow the new space to its maximum (2 × 16 MB on 64-bit), and V8 keeps it
// committed for good: a `serve` at rest then holds ~30 MB of empty new space. Holding the growth factor at 1
// while the program starts keeps the new space at its initial 2 × 1 MB; releasing it once the program is up lets
// V8 grow the space again under real load, so throughput under load is what it was. Plain JavaScript so that
// bin/meterhub.mjs can call it before anything is loaded. Types: start-memory.d.mts.
import { setFlagsFromString } from 'node:v8';

/** V8's default (node --v8-options): the factor restored by releaseYoungGeneration. */
export const DEFAULT_SEMI_SPACE_GROWTH_FACTOR = 2;

/** From now on, scavenges keep the new space at its current size (the flag is read at every growth). */
export function holdYoungGeneration() {
  setFlagsFromString('--semi-space-growth-factor=1');
}

/** The program is up: the new space may grow again as the load needs. */
export function releaseYoungGeneration() {
  setFlagsFromString(`--semi-space-growth-factor=${DEFAULT_SEMI_SPACE_GROWTH_FACTOR}`);
}
