/**
 * Fault injection for crash tests: METERHUB_FAULT=<point>[,<point>] makes the server SIGKILL itself at that
 * point. Honoured only when NODE_ENV=test or METERHUB_ALLOW_FAULTS=1, so a stray variable in production
 * does nothing.
 *
 * Points: kill-after-ledger-commit — the ledger row is durable, the response has not left.
 */
import { environment } from '../config/environment.ts';

export type FaultPoint = 'kill-after-ledger-commit';

/** A test knob, not a setting (core/config/settings.ts KNOBS): read once when the module loads. */
function active(env = environment()): Set<string> {
  const allowed = env.NODE_ENV === 'test' || env.METERHUB_ALLOW_FAULTS === '1';
  if (!allowed || !env.METERHUB_FAULT) return new Set();
  return new Set(env.METERHUB_FAULT.split(',').map((s) => s.trim()));
}

const points = active();

export function faultsEnabled(): string[] {
  return [...points];
}

export function hitFault(point: FaultPoint): void {
  if (points.has(point)) process.kill(process.pid, 'SIGKILL');
}
