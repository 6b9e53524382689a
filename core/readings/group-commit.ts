/**
 * Group commit: submissions that arrive while a transaction is running are committed together in the
 * next one. An idle pipeline commits at once (low latency); a busy one commits big batches (one fsync
 * per batch, not per reading). Every submitter's promise settles only after ITS data is committed.
 */
import type { IngestItem, IngestResult, ReadingStore, TxHook } from './store.ts';
import { PipelineClosed } from './errors.ts';
import { dedupeKey, readingId } from './reading-id.ts';

interface Pending {
  items: IngestItem[];
  hooks: TxHook[];
  resolve(r: IngestResult): void;
  reject(e: unknown): void;
}

export interface GroupCommitOptions {
  /** Readings per transaction at most (a larger submission is never split). */
  maxBatch?: number;
  onCommitted?(result: IngestResult): void;
}

export class GroupCommitter {
  private queue: Pending[] = [];
  private running = false;
  private closed = false;
  private idle: Array<() => void> = [];
  readonly maxBatch: number;
  committedBatches = 0;

  constructor(
    private readonly store: ReadingStore,
    private readonly opts: GroupCommitOptions = {},
  ) {
    this.maxBatch = opts.maxBatch ?? 2000;
  }

  submit(items: IngestItem[], hooks: TxHook[] = []): Promise<IngestResult> {
    if (this.closed) return Promise.reject(PipelineClosed());
    return new Promise((resolve, reject) => {
      this.queue.push({ items, hooks, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  get queued(): number {
    return this.queue.reduce((n, p) => n + p.items.length, 0);
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length) {
        const batch: Pending[] = [];
        let n = 0;
        while (this.queue.length && (batch.length === 0 || n + this.queue[0]!.items.length <= this.maxBatch)) {
          const p = this.queue.shift()!;
          batch.push(p);
          n += p.items.length;
        }
        try {
          const result = await this.store.ingest(
            batch.flatMap((p) => p.items),
            batch.flatMap((p) => p.hooks),
          );
          this.committedBatches++;
          this.opts.onCommitted?.(result);
          split(batch, result);
        } catch (e) {
          for (const p of batch) p.reject(e);
        }
      }
    } finally {
      this.running = false;
      for (const f of this.idle.splice(0)) f();
    }
  }

  /** Resolves when nothing is queued or committing. */
  whenIdle(): Promise<void> {
    if (!this.running && !this.queue.length) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.whenIdle();
  }
}

/** Gives each submitter the part of the batch result about its own items (ids derive from content). */
function split(batch: Pending[], result: IngestResult): void {
  const rejected = new Map(result.rejected.map((r) => [r.index, r.reason]));
  const seqById = new Map(result.inserted.map((x) => [x.id, x.seq]));
  const claimed = new Set<string>();
  let offset = 0;
  for (const p of batch) {
    const own: IngestResult = { inserted: [], duplicates: [], rejected: [] };
    p.items.forEach((item, i) => {
      const reason = rejected.get(offset + i);
      if (reason) {
        own.rejected.push({ index: i, reason });
        return;
      }
      const id = result.itemIds?.[offset + i] ?? readingId(dedupeKey(item.reading));
      const seq = seqById.get(id);
      if (seq !== undefined && !claimed.has(id)) {
        claimed.add(id);
        own.inserted.push({ id, seq });
      } else own.duplicates.push(id);
    });
    offset += p.items.length;
    p.resolve(own);
  }
}
