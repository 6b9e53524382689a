/**
 * What every chaos campaign reports. Figures are plain counts so a run can be compared with the next and
 * shown to an auditor; `violations` names each thing that must never happen and did.
 */
import type { ProfileRegistry } from '../telemetry/profile-registry.ts';

export type CampaignName = 'driver-faults' | 'server-kills' | 'broker-outages' | 'serial-noise' | 'gateway-kills';

export type CampaignStatus = 'passed' | 'failed' | 'error' | 'skipped' | 'not-run';

export interface CampaignReport {
  name: CampaignName;
  /** e.g. the database a server-kill campaign ran on. */
  variant?: string;
  status: CampaignStatus;
  /** Faults asked for and faults actually injected (the time budget may stop a campaign early). */
  planned: number;
  injected: number;
  /** Counts: survived, respawns, lost, duplicated, … (each campaign documents its own). */
  figures: Record<string, number>;
  /** Each broken guarantee, in words; empty when the campaign passed. */
  violations: string[];
  notes: string[];
  seconds: number;
  error?: string;
}

export interface CampaignContext {
  /** Wall-clock deadline (ms since epoch) for injecting faults; verification gets a bounded grace after it. */
  deadline: number;
  /** Seeded random numbers: a run can be repeated with --seed. */
  rand: () => number;
  log: (line: string) => void;
  quick: boolean;
  /** The run's dialect registry: campaigns resolve the profile their meters speak in it. */
  profiles: ProfileRegistry;
}

export function newReport(name: CampaignName, planned: number): CampaignReport {
  return { name, status: 'not-run', planned, injected: 0, figures: {}, violations: [], notes: [], seconds: 0 };
}

/** Small seeded PRNG (mulberry32): fault timing is random but repeatable from the seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function timeLeft(ctx: CampaignContext): number {
  return ctx.deadline - Date.now();
}

/**
 * Whether a campaign stops before injecting fault number `done` (0-based). The time budget only trims a long
 * run: a quick run always injects every planned fault, because its counts are what `npm test` asserts, and a
 * loaded machine (a CI run saw 1 of 6 driver faults before the budget ran out) must not turn coverage into luck.
 */
export function budgetSpent(ctx: CampaignContext, done: number): boolean {
  return !ctx.quick && done > 0 && timeLeft(ctx) <= 0;
}
