/**
 * Test budgets derived from measured work instead of a fixed 30 s. Most slow tests are made of CLI process
 * starts (tsx + the command's modules), whose cost varies fivefold with the load on these 2-core machines; a
 * test that starts N processes gets N times what one start costs here and now, times a safety factor for load
 * that rises after the measurement. The budget only catches a hang: tests assert on counts, never on time.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
/** Load can rise a few-fold between the measurement and the test. */
const SAFETY = 6;
const FLOOR_MS = 30_000;

let measured: number | undefined;

/** Wall time of one `meterhub telemetry encode` process start on this machine now (measured once per file). */
export function cliStartMs(): number {
  if (measured === undefined) {
    const t0 = performance.now();
    const r = spawnSync(
      process.execPath,
      [join(ROOT, 'bin', 'meterhub.mjs'), 'telemetry', 'encode', 'read', '--address', '1'],
      { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
    );
    measured = performance.now() - t0;
    if (r.error) throw r.error;
  }
  return measured;
}

/** A test budget for `starts` CLI process starts plus `extraMs` of other work, never under 30 s. */
export function cliBudgetMs(starts: number, extraMs = 0): number {
  return Math.max(FLOOR_MS, Math.ceil(SAFETY * (starts * cliStartMs() + extraMs)));
}

/** A child process's own time limit: a few starts' worth, so one slow start under load is not a failure. */
export function cliTimeoutMs(): number {
  return Math.max(20_000, Math.ceil(SAFETY * cliStartMs()));
}
