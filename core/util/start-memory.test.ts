/**
 * Holding the young generation during a start keeps V8's new space at its initial size through an allocation
 * burst, and releasing it lets the space grow again under load (so a server's throughput under load is not
 * traded for idle memory). V8 flags are process-wide, so this runs in a child process of its own.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const MODULE = pathToFileURL(join(import.meta.dirname, 'start-memory.mjs')).href;
const PROGRAM = `
import { getHeapSpaceStatistics } from 'node:v8';
import { holdYoungGeneration, releaseYoungGeneration } from ${JSON.stringify(MODULE)};
const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
// Short-lived objects with a live window of ~50,000: what makes V8 grow the new space.
const burst = () => { let keep = []; for (let i = 0; i < 1e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 50000) keep = []; } };
const initial = newSpace();
if (process.argv[1] === 'hold') holdYoungGeneration();
burst();
const afterBurst = newSpace();
releaseYoungGeneration();
burst();
console.log(JSON.stringify({ initial, afterBurst, afterRelease: newSpace() }));
`;

const run = (mode: string) => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', PROGRAM, mode], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { initial: number; afterBurst: number; afterRelease: number };
};

describe('young generation during a start', () => {
  it('held, a burst leaves the new space a fraction of what it grows to unheld; released, it grows again', () => {
    const held = run('hold');
    const free = run('free');
    // Unheld, V8 grows the space several doublings (to 2 × 16 MiB on 64-bit); held, at most one step.
    expect(free.afterBurst).toBeGreaterThan(held.initial * 4);
    expect(held.afterBurst).toBeLessThanOrEqual(held.initial * 2);
    expect(held.afterBurst * 4).toBeLessThanOrEqual(free.afterBurst);
    expect(held.afterRelease).toBeGreaterThan(held.afterBurst);
  }, 120_000); // two child processes of CPU-bound work: minutes on a loaded 2-core machine, not a failure
});
