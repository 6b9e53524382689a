/**
 * Gateway side of the collector (抄表器) exchange (docs/protocol/collector.md).
 *
 * The invariant: nothing is deleted on the collector before the gateway has durably stored it.
 * Records are committed (readings + outbox + collector_progress, one transaction) and only then
 * acknowledged. An upload cut at any point leaves the collector holding every record the gateway has not
 * committed; records committed but not yet acknowledged are acknowledged first on the next session and
 * never read again, and the store's dedupe would absorb them anyway.
 */
import { sql, type Kysely } from 'kysely';
import type { MeterHubDatabase } from '../../core/db/database.ts';
import { CollectorProtocol } from '../../core/readings/errors.ts';
import type { IngestItem, IngestResult, TxHook } from '../../core/readings/store.ts';
import {
  CONTROL,
  FRAME_OVERHEAD,
  FUNCTION,
  METER_TYPE,
  decodeFrame,
  frameToReading,
  isReadingFrame,
  readingRefusal,
  resolveProfile,
  toHex,
  type Cjt188Frame,
  type DialectProfile,
} from '../../core/telemetry/index.ts';
import { matchReply, SerCounter } from '../reply-match.ts';
import { BusArbiter } from '../serial/bus-arbiter.ts';
import type { SerialLink } from '../serial/serial-link.ts';
import { replyTimeoutMs, type TimingOptions } from '../serial/timing.ts';
import {
  COLLECTOR_DI,
  collectorRequest,
  decodeAckReply,
  decodeRecords,
  decodeStatus,
  encodeReadRecords,
  encodeU32,
  type CollectorRecord,
  type CollectorStatus,
} from './collector-protocol.ts';

export interface TxSubmitter {
  submit(items: IngestItem[], hooks?: TxHook[]): Promise<IngestResult>;
}

export interface CollectorClientOptions {
  link: SerialLink;
  arbiter?: BusArbiter;
  database: MeterHubDatabase;
  pipeline: TxSubmitter;
  address: string;
  meterType?: number;
  /** Stable id for progress tracking (default: the address). */
  collectorId?: string;
  /** Records asked for per C002 request (default 6 = what fits one frame for 901F records). */
  blockRecords?: number;
  /** Blocks per commit + acknowledgement (default 4). */
  commitEveryBlocks?: number;
  retries?: number;
  timing?: TimingOptions;
  /** Test hook: runs after a commit, before its acknowledgement is sent. */
  beforeAck?(uptoSeq: number): void | Promise<void>;
}

export interface UploadResult {
  records: number;
  stored: number;
  duplicates: number;
  quarantined: number;
  acked: number;
  blocks: number;
  /** Acknowledgement owed from an earlier, interrupted session and sent first. */
  resumedAck: number | null;
}

export class CollectorClient {
  readonly arbiter: BusArbiter;
  readonly profile: DialectProfile;
  readonly id: string;
  private readonly ser = new SerCounter();
  private readonly db: Kysely<any>;
  readonly counters = { exchanges: 0, timeouts: 0 };

  constructor(private readonly opts: CollectorClientOptions) {
    this.arbiter = opts.arbiter ?? new BusArbiter();
    this.profile = resolveProfile(opts.link.opts.profile);
    this.id = opts.collectorId ?? opts.address;
    this.db = opts.database.db;
  }

  /** One request/reply with bounded retries; throws GATEWAY_COLLECTOR_PROTOCOL when it stays silent. */
  private async request(
    fn: typeof FUNCTION.READ_DATA | typeof FUNCTION.WRITE_DATA,
    di: number,
    payload: Uint8Array,
  ): Promise<Cjt188Frame> {
    const tries = 1 + (this.opts.retries ?? 2);
    for (let i = 0; i < tries; i++) {
      const ser = this.ser.next();
      const req = collectorRequest(
        this.opts.address,
        this.opts.meterType ?? METER_TYPE.GAS,
        fn,
        di,
        ser,
        payload,
        this.profile,
      );
      let kind = 'no';
      this.counters.exchanges++;
      const r = await this.arbiter.run('poll', () =>
        this.opts.link.exchange({
          request: req,
          timeoutMs: replyTimeoutMs(
            req.length,
            this.profile.preamble + FRAME_OVERHEAD + 255,
            this.opts.link.opts,
            this.opts.timing,
          ),
          accept: (ev) => {
            kind = matchReply(ev.frame, { address: this.opts.address, fn, di, ser });
            return kind !== 'no';
          },
        }),
      );
      if (!r.reply) {
        this.counters.timeouts++;
        continue;
      }
      if (kind === 'error-reply') throw CollectorProtocol({ di: di.toString(16), reason: 'error reply' });
      return r.reply.frame;
    }
    throw CollectorProtocol(
      { di: di.toString(16), reason: 'no reply', attempts: tries },
      { zh: '抄表器无应答', en: 'collector did not answer' },
    );
  }

  async status(): Promise<CollectorStatus> {
    const f = await this.request(FUNCTION.READ_DATA, COLLECTOR_DI.STATUS, new Uint8Array(0));
    const s = decodeStatus(f.payload);
    if (!s) throw CollectorProtocol({ reason: 'bad status payload' });
    return s;
  }

  async progress(): Promise<{ committed: number; acked: number }> {
    const row = await this.db
      .selectFrom('collector_progress')
      .selectAll()
      .where('collector_id', '=', this.id)
      .executeTakeFirst();
    return row ? { committed: Number(row.committed_seq), acked: Number(row.acked_seq) } : { committed: 0, acked: 0 };
  }

  private async ack(uptoSeq: number): Promise<void> {
    await this.opts.beforeAck?.(uptoSeq);
    const f = await this.request(FUNCTION.WRITE_DATA, COLLECTOR_DI.ACK_UPTO, encodeU32(uptoSeq));
    if (!decodeAckReply(f.payload)) throw CollectorProtocol({ reason: 'bad ack reply' });
    await this.db
      .updateTable('collector_progress')
      .set({ acked_seq: uptoSeq, updated_at: Date.now() })
      .where('collector_id', '=', this.id)
      .where('acked_seq', '<', uptoSeq)
      .execute();
  }

  /** Records → readings (+ quarantine rows for unreadable ones); commit with the given extra hooks. */
  private async commit(
    records: CollectorRecord[],
    extra: TxHook[],
  ): Promise<{ stored: number; duplicates: number; quarantined: number }> {
    const items: IngestItem[] = [];
    const bad: Array<{ seq: number; raw: string; reason: string }> = [];
    const receivedAt = new Date().toISOString();
    for (const rec of records) {
      const d = decodeFrame(rec.frame, this.profile);
      if (!d.ok) {
        bad.push({ seq: rec.seq, raw: toHex(rec.frame), reason: d.code });
        continue;
      }
      const refusal = readingRefusal(d.frame, this.profile);
      if (refusal || !isReadingFrame(d.frame)) {
        bad.push({ seq: rec.seq, raw: toHex(rec.frame), reason: refusal?.code ?? 'NOT_A_READING' });
        continue;
      }
      const ctx = {
        source: 'collector',
        raw: d.raw,
        receivedAt,
        ...(d.trailer ? { trailer: d.trailer } : {}),
      } as const;
      items.push({ reading: frameToReading(d.frame, this.profile, ctx), origin: `collector:${this.id}#${rec.seq}` });
    }
    const now = Date.now();
    const hooks: TxHook[] = [...extra];
    if (bad.length) {
      hooks.push(async (trx) => {
        await trx
          .insertInto('collector_quarantine')
          .values(
            bad.map((b) => ({ collector_id: this.id, seq: b.seq, raw: b.raw, reason: b.reason, created_at: now })),
          )
          .onConflict((oc) => oc.columns(['collector_id', 'seq']).doNothing())
          .execute();
      });
    }
    const res = await this.opts.pipeline.submit(items, hooks);
    return { stored: res.inserted.length, duplicates: res.duplicates.length, quarantined: bad.length };
  }

  private progressHook(uptoSeq: number): TxHook {
    return async (trx) => {
      const now = Date.now();
      await trx
        .insertInto('collector_progress')
        .values({ collector_id: this.id, committed_seq: uptoSeq, acked_seq: 0, updated_at: now })
        .onConflict((oc) =>
          oc.column('collector_id').doUpdateSet({
            committed_seq: sql`case when collector_progress.committed_seq > ${uptoSeq} then collector_progress.committed_seq else ${uptoSeq} end`,
            updated_at: now,
          }),
        )
        .execute();
    };
  }

  /** Bulk transfer with acknowledgement: everything the collector holds, oldest first. */
  async uploadAll(): Promise<UploadResult> {
    const result: UploadResult = {
      records: 0,
      stored: 0,
      duplicates: 0,
      quarantined: 0,
      acked: 0,
      blocks: 0,
      resumedAck: null,
    };
    const prog = await this.progress();
    if (prog.committed > prog.acked) {
      await this.ack(prog.committed);
      result.resumedAck = prog.committed;
    }
    const st = await this.status();
    if (st.count === 0) return result;
    let next = Math.max(prog.committed + 1, st.firstSeq);
    let pending: CollectorRecord[] = [];
    let blocksSinceCommit = 0;
    const flush = async () => {
      if (!pending.length) return;
      const upto = pending[pending.length - 1]!.seq;
      const c = await this.commit(pending, [this.progressHook(upto)]);
      result.stored += c.stored;
      result.duplicates += c.duplicates;
      result.quarantined += c.quarantined;
      pending = [];
      blocksSinceCommit = 0;
      await this.ack(upto);
      result.acked = upto;
    };
    for (;;) {
      const f = await this.request(
        FUNCTION.READ_DATA,
        COLLECTOR_DI.READ_RECORDS,
        encodeReadRecords(next, this.opts.blockRecords ?? 6),
      );
      const recs = decodeRecords(f.payload);
      if (!recs) throw CollectorProtocol({ reason: 'bad record block' });
      let last = next - 1;
      for (const r of recs) {
        // Strictly increasing and never behind what we asked for: anything else is a protocol violation.
        if (r.seq <= last)
          throw CollectorProtocol({ reason: 'record sequence not increasing', seq: r.seq, after: last });
        last = r.seq;
      }
      result.blocks++;
      result.records += recs.length;
      pending.push(...recs);
      blocksSinceCommit++;
      const more = (f.control & CONTROL.MORE) !== 0 && recs.length > 0;
      if (recs.length) next = last + 1;
      if (!more) break;
      if (blocksSinceCommit >= (this.opts.commitEveryBlocks ?? 4)) await flush();
    }
    await flush();
    return result;
  }

  /** By address list: the latest stored record of each meter, each committed and then deleted exactly. */
  async readByAddresses(
    addresses: string[],
  ): Promise<{ stored: number; duplicates: number; missing: string[]; quarantined: number }> {
    const out = { stored: 0, duplicates: 0, missing: [] as string[], quarantined: 0 };
    for (const address of addresses) {
      const wire = new Uint8Array(7);
      for (let i = 0; i < 7; i++) wire[i] = parseInt(address.slice(12 - 2 * i, 14 - 2 * i), 16);
      const f = await this.request(FUNCTION.READ_DATA, COLLECTOR_DI.READ_LATEST, wire);
      const recs = decodeRecords(f.payload);
      if (!recs) throw CollectorProtocol({ reason: 'bad record block' });
      const rec = recs[0];
      if (!rec) {
        out.missing.push(address);
        continue;
      }
      const c = await this.commit([rec], []);
      out.stored += c.stored;
      out.duplicates += c.duplicates;
      out.quarantined += c.quarantined;
      await this.opts.beforeAck?.(rec.seq);
      const ack = await this.request(FUNCTION.WRITE_DATA, COLLECTOR_DI.ACK_ONE, encodeU32(rec.seq));
      if (!decodeAckReply(ack.payload)) throw CollectorProtocol({ reason: 'bad ack reply' });
    }
    return out;
  }
}
