/**
 * Ledger transactions by state, from one grouped COUNT at scrape time (cached for a few seconds, so several
 * scrapers cost one query). PREPARED rows that stay old mean a card write that nobody confirmed: the oldest
 * one's age is the alert.
 */
import { sql } from 'kysely';
import { Gauge, type Registry } from 'prom-client';
import type { MeterHubDatabase } from '../db/database.ts';
import { TX_STATES } from '../wire/tx-states.ts';
import { Source, type CollectorStatus } from './collector-status.ts';

export interface LedgerCounts {
  byState: Map<string, number>;
  /** created_at of the oldest PREPARED transaction (ISO text), or null. */
  oldestPrepared: string | null;
}

export async function ledgerCounts(database: MeterHubDatabase): Promise<LedgerCounts> {
  const rows = await sql<{ state: string; n: number | string; oldest: string | null }>`
    select state, count(*) as n, min(created_at) as oldest from ledger_transactions group by state`.execute(
    database.db,
  );
  const byState = new Map<string, number>();
  let oldestPrepared: string | null = null;
  for (const r of rows.rows) {
    byState.set(r.state, Number(r.n));
    if (r.state === 'PREPARED') oldestPrepared = r.oldest;
  }
  return { byState, oldestPrepared };
}

export class LedgerMetrics {
  private database?: MeterHubDatabase;
  private readonly source: Source<LedgerCounts | null>;

  constructor(registry: Registry, status: CollectorStatus, cacheMs: number) {
    const source = status.add(
      new Source('ledger', async () => (this.database ? ledgerCounts(this.database) : null), cacheMs),
    );
    this.source = source;
    new Gauge({
      name: 'meterhub_ledger_transactions',
      help: 'Ledger transactions by state (a grouped COUNT at scrape time, cached briefly)',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        const c = await source.read();
        this.reset();
        if (!c) return;
        for (const s of TX_STATES) this.set({ state: s }, c.byState.get(s) ?? 0);
      },
    });
    new Gauge({
      name: 'meterhub_ledger_oldest_prepared_age_seconds',
      help: 'Age of the oldest PREPARED (not yet confirmed) ledger transaction; 0 when there is none',
      registers: [registry],
      async collect() {
        const c = await source.read();
        this.reset();
        if (!c) return;
        const t = c.oldestPrepared ? Date.parse(c.oldestPrepared) : NaN;
        this.set(Number.isFinite(t) ? Math.max(0, (Date.now() - t) / 1000) : 0);
      },
    });
  }

  setDatabase(database: MeterHubDatabase): void {
    this.database = database;
  }

  invalidate(): void {
    this.source.invalidate();
  }
}
