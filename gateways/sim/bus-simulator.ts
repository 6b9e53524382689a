/**
 * CJ/T 188 meter-bus simulator on a real serial port (one end of a socat pty pair).
 *
 * It behaves like a wired bus at the configured baud rate: it waits for the request to have been on the
 * wire (request bytes × char time), waits the meter's turnaround, then sends the reply paced byte-by-byte
 * at the line speed. Meters can be normal, dead (never answer), slow (turnaround near the end of the
 * standard window) or noisy (corrupted replies and line garbage). A collector (抄表器) can sit on the
 * same bus. Replies are built with the shared codec (core/telemetry), never by hand.
 */
import { SerialPort } from 'serialport';
import {
  CONTROL,
  DI,
  FUNCTION,
  VALVE_ACTION,
  buildErrorReply,
  buildReadReply,
  buildValveReply,
  FrameStreamDecoder,
  resolveProfile,
  type Cjt188Frame,
  type DialectProfile,
} from '../../core/telemetry/index.ts';
import {
  COLLECTOR_DI,
  collectorReply,
  decodeReadRecordsRequest,
  encodeAckReply,
  encodeRecords,
  encodeStatus,
  type CollectorRecord,
} from '../collector/collector-protocol.ts';
import { charTimeMs, DEFAULT_TIMING, type LineSettings } from '../serial/timing.ts';

export type SimMeterKind = 'normal' | 'dead' | 'slow' | 'noisy';

export interface SimMeterConfig {
  address: string;
  kind?: SimMeterKind;
  /** Starting cumulative volume in m³ (decimal string). */
  start?: string;
  meterType?: number;
}

export interface SimCollectorConfig {
  address: string;
  meterType?: number;
  /** Stored records: meters × recordsPerMeter 901F replies, one hour apart. */
  meters: string[];
  recordsPerMeter: number;
  /** Go silent after serving this many C002 blocks (an interrupted upload). */
  failAfterBlocks?: number;
  /** Apply acknowledgements but do not answer them (a lost ack reply). */
  dropAckReplies?: boolean;
}

export interface BusSimulatorOptions extends LineSettings {
  path: string;
  profile: DialectProfile | string;
  meters: SimMeterConfig[];
  collector?: SimCollectorConfig;
  /** Turnaround of a normal meter (default 5 ms); slow meters use 80 % of the standard window. */
  turnaroundMs?: number;
  /** Meter clock; default real time (UTC, seconds). */
  clock?: () => Date;
}

interface MeterModel {
  cfg: SimMeterConfig;
  kind: SimMeterKind;
  cents: number;
  valve: 'open' | 'closed';
  replies: number;
}

export interface SimCounters {
  requests: number;
  replies: number;
  /** Requests per meter address (dead meters included): what the bus actually carried. */
  perMeter: Map<string, number>;
  corrupted: number;
  collectorBlocks: number;
  collectorAcks: number;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const clockText = (d: Date) =>
  `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
const centsText = (c: number) => `${Math.floor(c / 100)}.${pad(c % 100)}`;

export class BusSimulator {
  readonly port: SerialPort;
  readonly profile: DialectProfile;
  private readonly decoder: FrameStreamDecoder;
  private readonly meters = new Map<string, MeterModel>();
  readonly counters: SimCounters = {
    requests: 0,
    replies: 0,
    perMeter: new Map(),
    corrupted: 0,
    collectorBlocks: 0,
    collectorAcks: 0,
  };
  /** Records the collector still holds, ordered by seq. */
  collectorRecords: CollectorRecord[] = [];
  private collectorSilent = false;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  readonly charMs: number;

  constructor(readonly opts: BusSimulatorOptions) {
    this.profile = resolveProfile(opts.profile);
    this.charMs = charTimeMs(opts);
    this.port = new SerialPort({
      path: opts.path,
      baudRate: opts.baudRate,
      dataBits: opts.dataBits ?? 8,
      parity: opts.parity ?? 'even',
      stopBits: opts.stopBits ?? 1,
      autoOpen: false,
    });
    opts.meters.forEach((cfg, i) => {
      const start = cfg.start ?? `${100 + i}.00`;
      const [int, frac = '0'] = start.split('.');
      this.meters.set(cfg.address, {
        cfg,
        kind: cfg.kind ?? 'normal',
        cents: Number(int) * 100 + Number(frac.padEnd(2, '0').slice(0, 2)),
        valve: 'open',
        replies: 0,
      });
    });
    if (opts.collector) this.collectorRecords = this.makeRecords(opts.collector);
    this.decoder = new FrameStreamDecoder({
      profile: this.profile,
      onFrame: (ev) => {
        const arrived = performance.now();
        // Half-duplex: one request at a time, in arrival order.
        this.chain = this.chain.then(() => this.handle(ev.frame, ev.raw.length, arrived)).catch(() => {});
      },
    });
    this.port.on('data', (chunk: Buffer) => this.decoder.push(chunk));
    this.port.on('error', () => {});
  }

  private makeRecords(c: SimCollectorConfig): CollectorRecord[] {
    const out: CollectorRecord[] = [];
    let seq = 1;
    const base = Date.UTC(2025, 0, 1);
    for (let k = 0; k < c.recordsPerMeter; k++) {
      c.meters.forEach((address, i) => {
        const cents = 10_000 * (i + 1) + k * 37;
        const frame = buildReadReply(
          address,
          DI.CURRENT,
          0,
          {
            cumulative: centsText(cents),
            settlement: centsText(10_000 * (i + 1)),
            meterTime: clockText(new Date(base + k * 3_600_000)),
            status: { valve: 'open' },
          },
          this.profile,
          { preamble: 0 },
        );
        out.push({ seq: seq++, frame });
      });
    }
    return out;
  }

  open(): Promise<void> {
    return new Promise((resolve, reject) => this.port.open((e) => (e ? reject(e) : resolve())));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (!this.port.isOpen) return;
    await new Promise<void>((resolve) => this.port.close(() => resolve()));
  }

  meterState(address: string): { cumulative: string; valve: string; replies: number } | undefined {
    const m = this.meters.get(address);
    return m ? { cumulative: centsText(m.cents), valve: m.valve, replies: m.replies } : undefined;
  }

  /** Changes the collector's failure behaviour (and brings a silent collector back). */
  setCollectorBehaviour(b: { failAfterBlocks?: number; dropAckReplies?: boolean }): void {
    const c = this.opts.collector;
    if (!c) return;
    c.failAfterBlocks = b.failAfterBlocks;
    c.dropAckReplies = b.dropAckReplies;
    this.collectorSilent = false;
    this.counters.collectorBlocks = 0;
  }

  private turnaround(kind: SimMeterKind): number {
    if (kind === 'slow') {
      const window =
        (DEFAULT_TIMING.turnaroundMaxBits * 1000) / this.opts.baudRate + DEFAULT_TIMING.turnaroundMaxExtraMs;
      return window * 0.8;
    }
    return this.opts.turnaroundMs ?? 5;
  }

  private async handle(frame: Cjt188Frame, rawLength: number, arrivedAt: number): Promise<void> {
    if (this.closed || (frame.control & CONTROL.DIR_REPLY) !== 0) return;
    this.counters.requests++;
    this.counters.perMeter.set(frame.address, (this.counters.perMeter.get(frame.address) ?? 0) + 1);
    // The request was on the wire for its length (pty delivers it at once); preamble included.
    const requestWire = (rawLength + this.profile.preamble) * this.charMs;
    const c = this.opts.collector;
    if (c && frame.address === c.address) {
      const reply = this.collectorAnswer(frame, c);
      if (reply) await this.send(reply, arrivedAt + requestWire + this.turnaround('normal'));
      return;
    }
    const m = this.meters.get(frame.address);
    if (!m || m.kind === 'dead') return;
    const reply = this.meterAnswer(m, frame);
    if (!reply) return;
    m.replies++;
    let bytes = reply;
    if (m.kind === 'noisy') bytes = this.addNoise(bytes, m.replies);
    await this.send(bytes, arrivedAt + requestWire + this.turnaround(m.kind));
  }

  private meterAnswer(m: MeterModel, f: Cjt188Frame): Uint8Array | null {
    const fn = f.control & CONTROL.FUNCTION_MASK;
    const opts = { meterType: m.cfg.meterType ?? f.meterType };
    if (fn === FUNCTION.READ_DATA && f.di === DI.CURRENT) {
      m.cents += 1 + (m.replies % 50);
      return buildReadReply(
        m.cfg.address,
        DI.CURRENT,
        f.ser ?? 0,
        {
          cumulative: centsText(m.cents),
          settlement: centsText(Math.floor(m.cents / 2)),
          meterTime: clockText(this.opts.clock?.() ?? new Date()),
          status: { valve: m.valve },
        },
        this.profile,
        opts,
      );
    }
    if (fn === FUNCTION.WRITE_DATA && f.di === DI.VALVE) {
      const action = f.payload[0];
      if (action === VALVE_ACTION.open) m.valve = 'open';
      else if (action === VALVE_ACTION.close) m.valve = 'closed';
      else
        return buildErrorReply(
          m.cfg.address,
          FUNCTION.WRITE_DATA,
          DI.VALVE,
          f.ser ?? 0,
          { valve: m.valve },
          this.profile,
          opts,
        );
      return buildValveReply(m.cfg.address, f.ser ?? 0, { valve: m.valve }, this.profile, opts);
    }
    return buildErrorReply(m.cfg.address, fn, f.di ?? 0, f.ser ?? 0, { valve: m.valve }, this.profile, opts);
  }

  /**
   * Noise cycle per noisy meter: 1st reply checksum-corrupted (must be rejected), 2nd preceded by line
   * garbage with a stray 68H announcing a long frame (must be salvaged), 3rd clean.
   */
  private addNoise(reply: Uint8Array, n: number): Uint8Array {
    const phase = n % 3;
    if (phase === 1) {
      const bad = reply.slice();
      bad[bad.length - 2] = (bad[bad.length - 2]! + 0x5a) & 0xff;
      this.counters.corrupted++;
      return bad;
    }
    if (phase === 2) {
      const garbage = Uint8Array.of(0x00, 0x68, 0x30, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x81, 0xf0, 0x13);
      const out = new Uint8Array(garbage.length + reply.length);
      out.set(garbage);
      out.set(reply, garbage.length);
      this.counters.corrupted++;
      return out;
    }
    return reply;
  }

  private collectorAnswer(f: Cjt188Frame, c: SimCollectorConfig): Uint8Array | null {
    if (this.collectorSilent) return null;
    const fn = f.control & CONTROL.FUNCTION_MASK;
    const t = c.meterType ?? f.meterType;
    const ser = f.ser ?? 0;
    const recs = this.collectorRecords;
    const reply = (di: number, payload: Uint8Array, more = false) =>
      collectorReply(c.address, t, fn, di, ser, payload, this.profile, more);
    if (fn === FUNCTION.READ_DATA && f.di === COLLECTOR_DI.STATUS) {
      return reply(
        COLLECTOR_DI.STATUS,
        encodeStatus({
          count: recs.length,
          firstSeq: recs[0]?.seq ?? 0,
          lastSeq: recs.at(-1)?.seq ?? 0,
          meters: c.meters.length,
        }),
      );
    }
    if (fn === FUNCTION.READ_DATA && f.di === COLLECTOR_DI.READ_RECORDS) {
      const req = decodeReadRecordsRequest(f.payload);
      if (!req) return buildErrorReply(c.address, fn, f.di, ser, {}, this.profile, { meterType: t });
      if (c.failAfterBlocks !== undefined && this.counters.collectorBlocks >= c.failAfterBlocks) {
        this.collectorSilent = true;
        return null;
      }
      this.counters.collectorBlocks++;
      const from = recs.filter((r) => r.seq >= req.fromSeq);
      const { payload, packed } = encodeRecords(from.slice(0, Math.max(1, req.max)));
      return reply(COLLECTOR_DI.READ_RECORDS, payload, from.length > packed);
    }
    if (
      fn === FUNCTION.WRITE_DATA &&
      (f.di === COLLECTOR_DI.ACK_UPTO || f.di === COLLECTOR_DI.ACK_ONE) &&
      f.payload.length >= 4
    ) {
      const seq = (f.payload[0]! | (f.payload[1]! << 8) | (f.payload[2]! << 16)) + f.payload[3]! * 0x1000000;
      this.collectorRecords =
        f.di === COLLECTOR_DI.ACK_UPTO ? recs.filter((r) => r.seq > seq) : recs.filter((r) => r.seq !== seq);
      this.counters.collectorAcks++;
      if (c.dropAckReplies) return null;
      return reply(f.di, encodeAckReply(this.collectorRecords.length, this.collectorRecords[0]?.seq ?? 0));
    }
    if (fn === FUNCTION.READ_DATA && f.di === COLLECTOR_DI.READ_LATEST && f.payload.length >= 7) {
      const address = [...f.payload.subarray(0, 7)]
        .reverse()
        .map((b) => b.toString(16).padStart(2, '0'))
        .join('');
      const mine = recs.filter((r) => {
        const a = [...r.frame.subarray(2, 9)]
          .reverse()
          .map((b) => b.toString(16).padStart(2, '0'))
          .join('');
        return a === address;
      });
      const latest = mine.at(-1);
      return reply(COLLECTOR_DI.READ_LATEST, latest ? encodeRecords([latest]).payload : Uint8Array.of(0));
    }
    return buildErrorReply(c.address, fn, f.di ?? 0, ser, {}, this.profile, { meterType: t });
  }

  /** Sends bytes starting at `at` (performance.now() ms), paced at the line speed. */
  private async send(bytes: Uint8Array, at: number): Promise<void> {
    const wait = at - performance.now();
    if (wait > 0) await sleep(wait);
    const start = performance.now();
    let sent = 0;
    while (sent < bytes.length && !this.closed) {
      const due = Math.min(bytes.length, Math.floor((performance.now() - start) / this.charMs) + 1);
      if (due > sent) {
        this.port.write(Buffer.from(bytes.subarray(sent, due)));
        sent = due;
      }
      if (sent < bytes.length) await sleep(Math.max(1, this.charMs * 2));
    }
    // The last character needs its own time on the wire before the line is free.
    const end = start + bytes.length * this.charMs;
    const rest = end - performance.now();
    if (rest > 0) await sleep(rest);
    this.counters.replies++;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
