/**
 * The one way for readings: transports submit UnifiedReadings; the pipeline dedupes, stores them and
 * queues them for every billing sink in one transaction (group commit), and runs one outbox dispatcher
 * per sink. Transports never talk to billing. The database comes migrated: the composition root that opened it
 * (startServer, the gateway, a test's helper) migrates it once and passes it down.
 *
 * With a meter directory, submit() is also the one place where readings from unknown meter addresses are split
 * off, for every transport: they are held in quarantine (core/readings/quarantine.ts) in the same transaction as
 * the batch's known readings, so a transport that acknowledges after submit() resolves never loses either kind.
 */
import type { MeterHubDatabase } from '../db/database.ts';
import type { UnifiedReading } from '../telemetry/frame-types.ts';
import { OutboxDispatcher, type DispatcherOptions } from './dispatcher.ts';
import { QuarantineTargetUnknown, SinkUnknown } from './errors.ts';
import { GroupCommitter } from './group-commit.ts';
import type { MeterDirectory } from './meter-directory.ts';
import { QuarantineStore } from './quarantine.ts';
import { dedupeKey, readingId } from './reading-id.ts';
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
  validateReading,
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
  /** Which meter addresses are known. Absent: every reading is stored, as before the quarantine existed. */
  directory?: MeterDirectory;
}

export interface PipelineCounters {
  submitted: number;
  inserted: number;
  duplicates: number;
  rejected: number;
  /** Readings newly held in quarantine (unknown meter address); redeliveries of held ones count as duplicates. */
  quarantined: number;
  /** Held readings ops assigned to a meter that were stored as readings. */
  assigned: number;
}

export class ReadingPipeline {
  readonly store: ReadingStore;
  readonly quarantine: QuarantineStore;
  readonly directory: MeterDirectory | undefined;
  readonly dispatchers = new Map<string, OutboxDispatcher>();
  private readonly committer: GroupCommitter;
  private started = false;
  readonly counters: PipelineCounters = {
    submitted: 0,
    inserted: 0,
    duplicates: 0,
    rejected: 0,
    quarantined: 0,
    assigned: 0,
  };

  constructor(private readonly opts: ReadingPipelineOptions) {
    const sinks = [...(opts.sinks ?? [])];
    const names = sinks.map((s) => s.name);
    if (opts.restFeed !== false) names.push(FEED_SINK);
    if (new Set(names).size !== names.length) throw new Error(`duplicate sink names: ${names.join(',')}`);
    this.store = new ReadingStore(opts.database, names);
    this.quarantine = new QuarantineStore(this.store);
    this.directory = opts.directory;
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
    if (!this.directory) return this.committer.submit(list, hooks);
    const held = await this.unknownItems(list, this.directory);
    if (!held.size) return this.committer.submit(list, hooks);

    // Known (and invalid: the store rejects those as before) go to the store; unknown ones to the quarantine, by a
    // hook in the same group-commit transaction. Results come back in the caller's input order.
    const pass: IngestItem[] = [];
    const passIndex: number[] = [];
    const heldItems: IngestItem[] = [];
    list.forEach((item, i) => {
      if (held.has(i)) heldItems.push(item);
      else {
        pass.push(item);
        passIndex.push(i);
      }
    });
    let holding: { fresh: string[]; repeated: string[] } = { fresh: [], repeated: [] };
    const hold: TxHook = async (trx) => {
      holding = await this.quarantine.hold(trx, heldItems);
    };
    const res = await this.committer.submit(pass, [hold, ...hooks]);
    this.counters.quarantined += holding.fresh.length;
    this.counters.duplicates += holding.repeated.length;
    // Ids derive from content (the group committer hands each submitter no ids of its own); held ones stay null.
    const rejected = new Set(res.rejected.map((r) => r.index));
    const itemIds: Array<string | null> = new Array<string | null>(list.length).fill(null);
    passIndex.forEach((orig, k) => {
      if (!rejected.has(k)) itemIds[orig] = readingId(dedupeKey(pass[k]!.reading));
    });
    return {
      inserted: res.inserted,
      itemIds,
      duplicates: [...res.duplicates, ...holding.repeated],
      rejected: res.rejected.map((r) => ({ index: passIndex[r.index]!, reason: r.reason })),
      quarantined: holding.fresh,
    };
  }

  /** Indexes of valid items whose meter address the directory does not know. */
  private async unknownItems(list: IngestItem[], directory: MeterDirectory): Promise<Set<number>> {
    const valid: number[] = [];
    const addresses = new Set<string>();
    list.forEach((item, i) => {
      if (validateReading(item?.reading) !== null) return;
      valid.push(i);
      addresses.add(item.reading.meterId);
    });
    const out = new Set<number>();
    if (!addresses.size) return out;
    const known = await directory.known([...addresses]);
    for (const i of valid) if (!known.has(list[i]!.reading.meterId)) out.add(i);
    return out;
  }

  /**
   * Ops: one held reading → a meter the directory knows (without a directory every address is). Stored as a normal
   * reading of that meter, queued for every sink; assigning again stores nothing.
   */
  async assignQuarantined(id: string, target: string, actor: string) {
    await this.requireKnown(target);
    const r = await this.quarantine.assign(id, target, actor);
    if (r.result) this.committed(r.result);
    const { result: _omit, ...answer } = r;
    return answer;
  }

  /** Ops: every held reading of address `from` → registered meter `to` (a meter registered under a wrong address). */
  async assignQuarantinedAddress(from: string, to: string, actor: string) {
    await this.requireKnown(to);
    return this.quarantine.assignAddress(from, to, actor, (r) => this.committed(r));
  }

  private async requireKnown(address: string): Promise<void> {
    if (!this.directory) return;
    if ((await this.directory.known([address])).has(address)) return;
    // A cached "unknown" may predate the meter's registration: ask once more, afresh, before refusing.
    this.directory.refresh?.();
    if (!(await this.directory.known([address])).has(address)) {
      throw QuarantineTargetUnknown({ address, nextStep: 'register-meter' });
    }
  }

  private committed(r: IngestResult): void {
    this.counters.assigned += r.inserted.length;
    if (r.inserted.length) for (const d of this.dispatchers.values()) d.kick();
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
