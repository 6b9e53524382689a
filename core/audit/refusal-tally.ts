/**
 * Refused unauthenticated calls (no token, a malformed or unknown token) are counted, not audited one by one:
 * junk must not cost one audit row per call, or a flood of junk tokens writes the audit table full. Each
 * address gets one row per window and status, with the number of calls it stands for (audit `call_count`).
 */
import { randomUUID } from 'node:crypto';
import type { AuditEntry } from './audit-log.ts';

interface Tally {
  first: string;
  ip: string | null;
  status: number;
  count: number;
  lastPath: string;
}

export class RefusalTally {
  private tallies = new Map<string, Tally>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly append: (e: AuditEntry) => Promise<void>,
    private readonly windowMs: number,
    private readonly onError: (err: unknown) => void,
    /** Distinct addresses kept per window; beyond it they share one row (a spray from many addresses). */
    private readonly maxKeys = 10_000,
  ) {}

  add(ip: string | null, status: number, path: string): void {
    const key = this.tallies.size >= this.maxKeys ? `*|${status}` : `${ip ?? ''}|${status}`;
    const t = this.tallies.get(key);
    if (t) {
      t.count++;
      t.lastPath = path;
    } else {
      const addr = key.startsWith('*|') ? null : ip;
      this.tallies.set(key, { first: new Date().toISOString(), ip: addr, status, count: 1, lastPath: path });
    }
    if (!this.timer) {
      this.timer = setTimeout(() => void this.flush().catch(this.onError), this.windowMs);
      this.timer.unref();
    }
  }

  /** Writes one audit row per address and status seen since the last flush. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const done = [...this.tallies.values()];
    this.tallies = new Map();
    for (const t of done) {
      await this.append({
        at: t.first,
        requestId: `tally-${randomUUID()}`,
        actor: null,
        role: null,
        channel: null,
        method: '*',
        path: t.lastPath,
        route: 'unauthenticated (tallied)',
        status: t.status,
        transactionId: null,
        idempotencyKey: null,
        ip: t.ip,
        durationMs: 0,
        count: t.count,
      });
    }
  }
}
