/**
 * The registry as a MeterDirectory (core/readings/meter-directory.ts): which addresses are registered and active.
 * The reading path asks once per batch of readings, so answers are cached (known and unknown alike) and the misses
 * are asked in batches (MeterStore.activeAmong). `refresh()` empties the cache — the gateway's registry reload
 * calls it, so a meter imported since joins (and a retired one leaves) at the same moment for polling and for the
 * directory. Without anyone calling it the cache still ends after `maxAgeMs` (default 5 min, the gateway's default
 * reload period), so a directory wired without the reload never keeps a new meter out for good. The cache is
 * bounded: past `maxEntries` it starts again rather than grow with every stray address.
 */
import type { MeterHubDatabase } from '../db/database.ts';
import type { MeterDirectory } from '../readings/meter-directory.ts';
import { MeterStore } from './store.ts';

export class RegistryDirectory implements MeterDirectory {
  private readonly store: MeterStore;
  private cache = new Map<string, boolean>();
  private cachedAt = Date.now();
  /** Database round trips so far (tests count them: a cached answer costs none). */
  queries = 0;

  constructor(
    database: MeterHubDatabase,
    private readonly opts: { maxEntries?: number; maxAgeMs?: number } = {},
  ) {
    this.store = new MeterStore(database);
  }

  async known(addresses: readonly string[]): Promise<ReadonlySet<string>> {
    if (Date.now() - this.cachedAt >= (this.opts.maxAgeMs ?? 300_000)) this.refresh();
    const out = new Set<string>();
    const misses: string[] = [];
    for (const a of addresses) {
      const hit = this.cache.get(a);
      if (hit === undefined) misses.push(a);
      else if (hit) out.add(a);
    }
    if (misses.length) {
      this.queries++;
      const found = await this.store.activeAmong(misses);
      if (this.cache.size + misses.length > (this.opts.maxEntries ?? 100_000)) this.refresh();
      for (const a of misses) {
        const k = found.has(a);
        this.cache.set(a, k);
        if (k) out.add(a);
      }
    }
    return out;
  }

  /** Forgets every cached answer: the next `known()` asks the registry again. */
  refresh(): void {
    this.cache = new Map();
    this.cachedAt = Date.now();
  }
}
