/**
 * CPU time of a process tree, read from /proc (Linux only; elsewhere every reading is null): where a
 * benchmark's work goes between the server, its driver-host children and the load generator.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** The process and all its descendants. */
function tree(pid: number): number[] {
  const out = [pid];
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    try {
      const kids = readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      for (const k of kids) out.push(...tree(Number(k)));
    } catch { /* the task ended */ }
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

export type CpuSnapshot = Map<number, number> | null;

export function snapshot(rootPid: number): CpuSnapshot {
  if (process.platform !== 'linux') return null;
  const m = new Map<number, number>();
  for (const pid of tree(rootPid)) {
    const c = cpuMs(pid);
    if (c !== null) m.set(pid, c);
  }
  return m;
}

/** CPU used between two snapshots: the root process, and its descendants together (ms). */
export function used(rootPid: number, before: CpuSnapshot, after: CpuSnapshot): { rootMs: number; childrenMs: number } | null {
  if (!before || !after) return null;
  let childrenMs = 0;
  for (const [pid, ms] of after) if (pid !== rootPid) childrenMs += ms - (before.get(pid) ?? 0);
  return { rootMs: (after.get(rootPid) ?? 0) - (before.get(rootPid) ?? 0), childrenMs };
}
