/**
 * The one way for readings: transports submit UnifiedReadings; the pipeline dedupes, stores them and
 * queues them for every billing sink in one transaction (group commit), and runs one outbox dispatcher
 * per sink. Transports never talk to billing. The database comes migrated: the composition root that opened it
 * (startServer, the gateway, a test's helper) migrates it once and passes it down.
 */
import type { MeterHubDatabase } from '../db/database.ts';
import type { UnifiedReading } from '../telemetry/frame-types.ts';
import { OutboxDispatcher, type DispatcherOptions } from './dispatcher.ts';
import { SinkUnknown } from './errors.ts';
import { GroupCommitter } from './group-commit.ts';
import type { BillingSink } from './sink-types.ts';
import { FeedSink } from './sinks/feed-sink.ts';
import {
  FEED_SINK,
  ReadingStore,
  type DeadLetter,
  type IngestItem,
  type IngestResult,
  type SinkStats,
  type TxHook,
} from './store.ts';

export interface ReadingPipelineOptions {
  database: MeterHubDatabase;
  /** Billing sinks besides the REST feed. */
  sinks?: BillingSink[];
  /** Include the REST cursor feed sink (default true). */
  restFeed?: boolean;
  dispatcher?: DispatcherOptions;
  maxBatch?: number;
  onError?(e: unknown): void;
}

export interface PipelineCounters {
  submitted: number;
  inserted: number;
  duplicates: number;
  rejected: number;
}

export class ReadingPipeline {
  readonly store: ReadingStore;
  readonly dispatchers = new Map<string, OutboxDispatcher>();
  private readonly committer: GroupCommitter;
  private started = false;
  readonly counters: PipelineCounters = { submitted: 0, inserted: 0, duplicates: 0, rejected: 0 };

  constructor(private readonly opts: ReadingPipelineOptions) {
    const sinks = [...(opts.sinks ?? [])];
    const names = sinks.map((s) => s.name);
    if (opts.restFeed !== false) names.push(FEED_SINK);
    if (new Set(names).size !== names.length) throw new Error(`duplicate sink names: ${names.join(',')}`);
    this.store = new ReadingStore(opts.database, names);
    if (opts.restFeed !== false) sinks.push(new FeedSink(this.store));
    for (const sink of sinks) {
      this.dispatchers.set(
        sink.name,
        new OutboxDispatcher(this.store, sink, { onError: opts.onError, ...opts.dispatcher }),
      );
    }
    this.committer = new GroupCommitter(this.store, {
      maxBatch: opts.maxBatch,
      onCommitted: (r) => {
        this.counters.inserted += r.inserted.length;
        this.counters.duplicates += r.duplicates.length;
        this.counters.rejected += r.rejected.length;
        if (r.inserted.length) for (const d of this.dispatchers.values()) d.kick();
      },
    });
  }

  get sinkNames(): string[] {
    return [...this.dispatchers.keys()];
  }

  /** Starts delivering to the sinks. */
  async start(): Promise<void> {
    this.started = true;
    for (const d of this.dispatchers.values()) d.start();
  }

  /**
   * Resolves once the readings (and `hooks`, in the same transaction) are committed. Only then may a
   * transport acknowledge upstream (MQTT PUBACK, collector delete).
   */
  async submit(items: IngestItem[] | UnifiedReading[], hooks: TxHook[] = []): Promise<IngestResult> {
    const list: IngestItem[] = items.map((x: IngestItem | UnifiedReading) => ('reading' in x ? x : { reading: x }));
    this.counters.submitted += list.length;
    return this.committer.submit(list, hooks);
  }

  async stats(): Promise<SinkStats[]> {
    return this.store.stats();
  }

  async listDeadLetters(opts: { sink?: string; limit?: number; afterId?: number } = {}): Promise<DeadLetter[]> {
    if (opts.sink) this.requireSink(opts.sink);
    return this.store.listDeadLetters(opts);
  }

  async replayDeadLetters(sink: string, ids?: number[]): Promise<number> {
    this.requireSink(sink);
    const n = await this.store.replayDeadLetters(sink, ids);
    this.dispatchers.get(sink)?.kick();
    return n;
  }

  private requireSink(sink: string): void {
    if (!this.dispatchers.has(sink)) throw SinkUnknown({ sink });
  }

  /** Waits until every sink's backlog is empty (tests, benchmarks, graceful shutdown). */
  async drained(timeoutMs = 30_000, pollMs = 20): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    await this.committer.whenIdle();
    while (Date.now() < end) {
      const s = await this.stats();
      if (s.every((x) => x.backlog === 0)) return true;
      await new Promise((r) => setTimeout(r, pollMs));
    }
    return false;
  }

  async close(): Promise<void> {
    await this.committer.close();
    await Promise.all([...this.dispatchers.values()].map((d) => d.stop()));
    for (const d of this.dispatchers.values()) await d.sink.close?.();
    this.started = false;
  }

  get running(): boolean {
    return this.started;
  }
}

export function createReadingPipeline(opts: ReadingPipelineOptions): ReadingPipeline {
  return new ReadingPipeline(opts);
}
