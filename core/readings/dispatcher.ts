/**
 * Drains one sink's outbox: lease a batch, deliver, delete what was delivered, back off or dead-letter
 * what failed. Leases expire, so a crashed process's batch is picked up again (at least once); the
 * reading id travels as the idempotency key so a repeat costs billing nothing.
 */
import { randomUUID } from 'node:crypto';
import type { BillingSink, DeliveryResult } from './sink-types.ts';
import type { ReadingStore, RetryPolicy, StoredReading } from './store.ts';

export interface DispatcherOptions {
  leaseMs?: number;
  pollMs?: number;
  retry?: Partial<RetryPolicy>;
  onError?(e: unknown): void;
}

export const DEFAULT_RETRY: RetryPolicy = { baseMs: 1000, maxMs: 5 * 60_000, maxAttempts: 12 };

export class OutboxDispatcher {
  private running = false;
  private loop: Promise<void> | null = null;
  private readonly wakers = new Set<() => void>();
  private kicked = false;
  readonly retry: RetryPolicy;
  readonly leaseMs: number;
  readonly pollMs: number;
  readonly instance = randomUUID().slice(0, 8);
  batches = 0;

  constructor(
    private readonly store: ReadingStore,
    readonly sink: BillingSink,
    private readonly opts: DispatcherOptions = {},
  ) {
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.pollMs = opts.pollMs ?? 250;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const n = Math.max(1, Math.min(this.sink.parallelLeases ?? 1, 16));
    this.loop = Promise.all(Array.from({ length: n }, () => this.run())).then(() => undefined);
  }

  private wakeAll(): void {
    for (const w of [...this.wakers]) w();
  }

  /** New rows were committed: look now instead of at the next poll. */
  kick(): void {
    this.kicked = true;
    this.wakeAll();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wakeAll();
    await this.loop;
    this.loop = null;
  }

  /** One lease-deliver-settle round; returns how many rows it handled. */
  async runOnce(now = Date.now()): Promise<number> {
    const owner = `${this.instance}:${++this.batches}`;
    const rows = await this.store.claim(this.sink.name, owner, this.sink.batchSize ?? 200, this.leaseMs, now);
    if (!rows.length) return 0;
    const readings =
      this.sink.needsReadings === false
        ? new Map(rows.map((r) => [r.readingId, { id: r.readingId } as StoredReading]))
        : await this.store.getMany(rows.map((r) => r.readingId));
    const deliverable = rows.filter((r) => readings.has(r.readingId));
    let results: DeliveryResult[];
    try {
      results = await this.sink.deliver(deliverable.map((r) => readings.get(r.readingId)!));
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      results = deliverable.map((): DeliveryResult => ({ ok: false, error }));
    }
    const ok: number[] = [];
    const failed = [];
    for (let i = 0; i < deliverable.length; i++) {
      const res: DeliveryResult = results[i] ?? { ok: false, error: 'sink returned no result' };
      if (res.ok) ok.push(deliverable[i]!.id);
      else failed.push({ outboxId: deliverable[i]!.id, error: res.error, permanent: res.permanent ?? false });
    }
    // A row whose reading vanished can never be delivered: that is for ops to see, not to retry.
    for (const r of rows)
      if (!readings.has(r.readingId)) failed.push({ outboxId: r.id, error: 'reading not found', permanent: true });
    await this.store.complete(this.sink.name, owner, ok, Date.now(), ok.length === rows.length);
    await this.store.fail(this.sink.name, owner, failed, this.retry);
    return rows.length;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let n = 0;
      try {
        this.kicked = false;
        n = await this.runOnce();
      } catch (e) {
        this.opts.onError?.(e);
      }
      if (n > 0 || this.kicked) continue;
      let timer: NodeJS.Timeout | null = null;
      let wake: (() => void) | null = null;
      await new Promise<void>((resolve) => {
        wake = resolve;
        this.wakers.add(resolve);
        timer = setTimeout(resolve, this.pollMs);
      });
      if (timer) clearTimeout(timer);
      if (wake) this.wakers.delete(wake);
    }
  }
}
