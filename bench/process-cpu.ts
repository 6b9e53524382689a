/**
 * CPU time of a process tree, read from /proc (Linux only; elsewhere every reading is null): where a
 * benchmark's work goes between the server, its driver-host children and the load generator.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** The process and all its descendants. */
function tree(pid: number): number[] {
  const out = [pid];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    try {
      const kids = readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      for (const k of kids) out.push(...tree(Number(k)));
    } catch {
      /* the task ended */
    }
  }
  return out;
}

/** User + system CPU of one process, ms (all its threads). */
function cpuMs(pid: number): number | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // utime and stime, in clock ticks (100 per second on Linux).
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return null;
  }
}

/**
 * Times the process went to sleep waiting for something (voluntary context switches, all its threads):
 * its wake-ups.
 */
function sleeps(pid: number): number {
  let n = 0;
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      const m = /voluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8'));
      if (m) n += Number(m[1]);
    }
  } catch {
    /* the process ended */
  }
  return n;
}

export type CpuSnapshot = Map<number, { ms: number; sleeps: number }> | null;

export function snapshot(rootPid: number): CpuSnapshot {
  if (process.platform !== 'linux') return null;
  const m = new Map<number, { ms: number; sleeps: number }>();
  for (const pid of tree(rootPid)) {
    const c = cpuMs(pid);
    if (c !== null) m.set(pid, { ms: c, sleeps: sleeps(pid) });
  }
  return m;
}

/** CPU used between two snapshots: the root process, and its descendants together (ms). */
export function used(
  rootPid: number,
  before: CpuSnapshot,
  after: CpuSnapshot,
): { rootMs: number; childrenMs: number; rootSleeps: number; childrenSleeps: number } | null {
  if (!before || !after) return null;
  let childrenMs = 0;
  let childrenSleeps = 0;
  for (const [pid, a] of after) {
    if (pid === rootPid) continue;
    childrenMs += a.ms - (before.get(pid)?.ms ?? 0);
    childrenSleeps += a.sleeps - (before.get(pid)?.sleeps ?? 0);
  }
  const root = (s: CpuSnapshot) => s?.get(rootPid) ?? { ms: 0, sleeps: 0 };
  return {
    rootMs: root(after).ms - root(before).ms,
    childrenMs,
    rootSleeps: root(after).sleeps - root(before).sleeps,
    childrenSleeps,
  };
}
