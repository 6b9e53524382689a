/**
 * Fault injection for crash tests: METERHUB_FAULT=<point>[,<point>] makes the server SIGKILL itself at that
 * point. Honoured only when NODE_ENV=test or METERHUB_ALLOW_FAULTS=1, so a stray variable in production
 * does nothing.
 *
 * Points: kill-after-ledger-commit — the ledger row is durable, the response has not left.
 */
export type FaultPoint = 'kill-after-ledger-commit';

function active(): Set<string> {
  const allowed = process.env.NODE_ENV === 'test' || process.env.METERHUB_ALLOW_FAULTS === '1';
  if (!allowed || !process.env.METERHUB_FAULT) return new Set();
  return new Set(process.env.METERHUB_FAULT.split(',').map((s) => s.trim()));
}

const points = active();

export function faultsEnabled(): string[] {
  return [...points];
}

export function hitFault(point: FaultPoint): void {
  if (points.has(point)) process.kill(process.pid, 'SIGKILL');
}
