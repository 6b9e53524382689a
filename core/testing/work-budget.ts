/**
 * Test budgets derived from measured work instead of a fixed 30 s. Slow tests are made of process starts (a
 * CLI with tsx and the command's modules, a driver host, a bare node), whose cost varies fivefold with the load
 * on these 2-core machines; a test that starts N processes gets N times what one start costs here and now, times
 * a safety factor for load that rises after the measurement. The budget only catches a hang: tests assert on
 * counts and order, never on time.
 *
 * Each unit is measured once per test file (vitest runs every file in its own fork, so a module-level cache is per
 * file), lazily, the first time a budget needs it. Not once per whole run: the load of a full run changes over its
 * minutes as files start and end, and a measurement from its first second can be stale by a factor of several.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { bundledHostFor } from '../driver/host-bundle.ts';
import { DEFAULT_HOST_ENTRY, tsxLoaderUrl } from '../driver/supervisor.ts';

const ROOT = join(import.meta.dirname, '..', '..');
/** Load can rise a few-fold between the measurement and the test. */
export const SAFETY = 6;
/** Never below vitest's default for this repo: an idle machine is no reason to be stricter than before. */
export const FLOOR_MS = 30_000;

const measured = new Map<string, number>();

/** Wall time of one run of a command that starts, does its fixed unit of work and exits; cached per file. */
function measure(key: string, args: string[], input?: string): number {
  let ms = measured.get(key);
  if (ms === undefined) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, args, {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
      ...(input !== undefined ? { input } : { stdio: ['ignore', 'pipe', 'pipe'] }),
    });
    ms = performance.now() - t0;
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`calibration "${key}" exited with ${r.status}: ${r.stderr}`);
    measured.set(key, ms);
  }
  return ms;
}

/** Wall time of one `meterhub telemetry encode` process start on this machine now (a valid request: exit 0). */
export function cliStartMs(): number {
  return measure('cli', [
    join(ROOT, 'bin', 'meterhub.mjs'),
    'telemetry',
    'encode',
    'read',
    '--address',
    '31000000000001',
  ]);
}

/** Wall time of a bare `node` start and exit: the floor of any child process (gateways, simulators, echo peers). */
export function nodeStartMs(): number {
  return measure('node', ['-e', '0']);
}

/**
 * Wall time of one driver host start, run the way the supervisor runs it (the bundle when fresh, else the
 * TypeScript entry through tsx): it loads, announces itself ready, sees its stdin closed and exits.
 */
export function hostStartMs(): number {
  const bundle = bundledHostFor(DEFAULT_HOST_ENTRY);
  return measure('host', bundle ? [bundle] : ['--import', tsxLoaderUrl(), DEFAULT_HOST_ENTRY], '');
}

/** Work a test does, in measured units; `extraMs` is time the test waits on purpose (backoffs, reply timeouts). */
export interface Work {
  cliStarts?: number;
  hostStarts?: number;
  nodeStarts?: number;
  extraMs?: number;
}

/** A test budget for that work, never under 30 s. Only the units the work names are measured. */
export function workBudgetMs(w: Work): number {
  const ms =
    (w.cliStarts ? w.cliStarts * cliStartMs() : 0) +
    (w.hostStarts ? w.hostStarts * hostStartMs() : 0) +
    (w.nodeStarts ? w.nodeStarts * nodeStartMs() : 0) +
    (w.extraMs ?? 0);
  return Math.max(FLOOR_MS, Math.ceil(SAFETY * ms));
}

/** A test budget for `starts` CLI process starts plus `extraMs` of other work, never under 30 s. */
export function cliBudgetMs(starts: number, extraMs = 0): number {
  return workBudgetMs({ cliStarts: starts, extraMs });
}

/** A child process's own time limit: a few starts' worth, so one slow start under load is not a failure. */
export function cliTimeoutMs(): number {
  return Math.max(20_000, Math.ceil(SAFETY * cliStartMs()));
}

/**
 * Polls a condition until it holds; the budget only bounds a hang, it asserts nothing about speed. Use it instead
 * of a fixed sleep before asserting on something another process or thread produces.
 */
export async function waitUntil(cond: () => boolean | Promise<boolean>, what: string, budgetMs = FLOOR_MS) {
  const end = Date.now() + budgetMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`${what}: not reached within ${budgetMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
