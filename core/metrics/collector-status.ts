/**
 * Scrape-time collectors. Each source (ledger counts, outbox stats, gateway stats, plugin health) is read
 * once per scrape through a cached Snapshot and shared by every metric that needs it. A source that fails
 * (database down, query timed out) leaves its series out of the scrape instead of failing the whole scrape,
 * and `meterhub_metrics_collector_up{collector}` says so.
 */
import { Gauge, type Registry } from 'prom-client';
import { Snapshot } from './snapshot.ts';

export class Source<T> {
  private readonly snap: Snapshot<T>;

  constructor(
    readonly name: string,
    load: () => Promise<T>,
    ttlMs: number,
    timeoutMs?: number,
  ) {
    this.snap = new Snapshot(load, ttlMs, timeoutMs);
  }

  /** The cached data, or undefined when the source failed. */
  async read(): Promise<T | undefined> {
    try {
      return await this.snap.get();
    } catch {
      return undefined;
    }
  }

  invalidate(): void {
    this.snap.invalidate();
  }
}

export class CollectorStatus {
  private readonly sources: Array<Source<unknown>> = [];

  constructor(registry: Registry) {
    const sources = this.sources;
    new Gauge({
      name: 'meterhub_metrics_collector_up',
      help: 'Whether a scrape-time collector answered on this scrape (1) or failed or timed out (0)',
      labelNames: ['collector'],
      registers: [registry],
      async collect() {
        const results = await Promise.all(sources.map(async (s) => [s.name, (await s.read()) !== undefined] as const));
        this.reset();
        for (const [collector, ok] of results) this.set({ collector }, ok ? 1 : 0);
      },
    });
  }

  /** Next scrape reads every source afresh (tests; after a restore). */
  invalidateAll(): void {
    for (const s of this.sources) s.invalidate();
  }

  add<T>(source: Source<T>): Source<T> {
    this.sources.push(source as Source<unknown>);
    return source;
  }
}
