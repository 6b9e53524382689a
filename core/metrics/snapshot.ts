/**
 * Scrape-time data shared by several metrics: one query answers all the gauges that need it, concurrent
 * scrapes share the query in flight, and the answer is reused for `ttlMs` so a scraper (or several
 * Prometheus replicas) polling every few seconds does not put load on the database.
 */
export class Snapshot<T> {
  private value?: { at: number; data: T };
  private inflight?: Promise<T>;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly ttlMs: number,
    /** A hung database must not hang the scrape: give up after this long. */
    private readonly timeoutMs = 2_000,
  ) {}

  get(now = Date.now()): Promise<T> {
    if (this.value && now - this.value.at < this.ttlMs) return Promise.resolve(this.value.data);
    this.inflight ??= withTimeout(this.load(), this.timeoutMs)
      .then((data) => {
        this.value = { at: Date.now(), data };
        return data;
      })
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }

  /** Next get() loads again (tests, and after a write the caller wants to see at once). */
  invalidate(): void {
    this.value = undefined;
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    t.unref();
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
