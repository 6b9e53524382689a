/**
 * Serial bus master: polls the meters on one bus through the BusArbiter, one exchange at a time.
 *
 * - Timeouts come from the line settings and frame sizes (timing.ts).
 * - Bounded retries per poll; a meter whose whole poll timed out becomes "suspect": it is probed again
 *   after 1, 2, 4 … maxBackoffCycles sweeps with a single attempt, so a dead meter costs a bounded,
 *   shrinking number of timeouts and never stalls the bus.
 * - Every reply is validated (address, control, DI, SER) before it becomes a reading.
 * - Valve commands jump the poll queue (arbiter priority) and are logged durably.
 */
import { randomUUID } from 'node:crypto';
import {
  CONTROL,
  DI,
  FRAME_OVERHEAD,
  FUNCTION,
  buildReadRequest,
  buildValveCommand,
  frameStatus,
  frameToReading,
  isReadingFrame,
  readingRefusal,
  resolveProfile,
  toHex,
  type DialectProfile,
  type UnifiedReading,
} from '../../core/telemetry/index.ts';
import { CommandRejected, CommandTimeout, MeterUnknown } from '../../core/readings/errors.ts';
import type { IngestItem, IngestResult } from '../../core/readings/store.ts';
import type { CommandLog } from '../command-log.ts';
import { matchReply, SerCounter } from '../reply-match.ts';
import { BusArbiter } from './bus-arbiter.ts';
import type { SerialLink } from './serial-link.ts';
import { replyTimeoutMs, type TimingOptions } from './timing.ts';
import type { MeterState, MeterStats } from '../../core/wire/ops.ts';

export interface BusMeterConfig {
  address: string;
  meterType?: number;
  /** DIs to read each sweep; default [901F]. */
  dis?: number[];
}

export interface ReadingSink {
  submit(items: IngestItem[]): Promise<IngestResult>;
}

export interface BusMasterOptions {
  link: SerialLink;
  arbiter?: BusArbiter;
  meters: BusMeterConfig[];
  pipeline?: ReadingSink;
  commands?: CommandLog;
  /** Extra attempts after a timeout / bad frame, for a healthy meter (default 2). */
  retries?: number;
  /** Sweep period (default 60 s). */
  intervalMs?: number;
  /** Longest gap between probes of a dead meter, in sweeps (default 16). */
  maxBackoffCycles?: number;
  /** Spread polls over the sweep period instead of back to back (default true). */
  stagger?: boolean;
  timing?: TimingOptions;
  commandRetries?: number;
  onReading?(r: UnifiedReading): void;
  onError?(e: unknown): void;
}

/** A meter's poll stats: the ops views' wire type (core/wire/ops.ts), which the console reads too. */
export type { MeterState, MeterStats };

export interface SweepResult {
  cycle: number;
  polled: number;
  read: number;
  failed: number;
  skipped: number;
  elapsedMs: number;
}

export interface ValveResult {
  commandId: string;
  valve: string;
  confirmed: boolean;
  attempts: number;
  replyFrame: string;
}

function freshStats(address: string, cycle: number): MeterStats {
  return {
    address,
    state: 'unknown',
    polls: 0,
    attempts: 0,
    timeouts: 0,
    successes: 0,
    errorReplies: 0,
    refused: 0,
    lastRefusal: null,
    badFrames: 0,
    consecutiveFailures: 0,
    nextCycle: cycle,
    lastReadAt: null,
  };
}

/** DATA length of a normal reply per DI (DI + SER + payload), for the reply timeout. */
function replyDataLength(di: number): number {
  if (di === DI.CURRENT) return 22;
  return 8; // D120–D12B: DI SER + 5
}

export class BusMaster {
  readonly arbiter: BusArbiter;
  readonly profile: DialectProfile;
  private readonly meters = new Map<string, BusMeterConfig>();
  private readonly state = new Map<string, MeterStats>();
  private readonly ser = new SerCounter();
  private cycle = 0;
  private running = false;
  private loop: Promise<void> | null = null;
  private stopWait: (() => void) | null = null;
  private readonly inflight = new Set<Promise<unknown>>();
  readonly retries: number;
  readonly maxBackoffCycles: number;

  constructor(private readonly opts: BusMasterOptions) {
    this.arbiter = opts.arbiter ?? new BusArbiter();
    this.profile = resolveProfile(opts.link.opts.profile);
    this.retries = opts.retries ?? 2;
    this.maxBackoffCycles = opts.maxBackoffCycles ?? 16;
    this.setMeters(opts.meters);
  }

  /**
   * Replaces the meters this bus polls, in the given order, from the next sweep on (a sweep in progress finishes
   * its own list). A meter that stays keeps its stats and backoff; a new one starts fresh; a removed one is no
   * longer polled nor known to valve(). The gateway's registry reload calls this.
   */
  setMeters(meters: readonly BusMeterConfig[]): void {
    const state = new Map(this.state);
    this.meters.clear();
    this.state.clear();
    for (const m of meters) {
      this.meters.set(m.address, m);
      this.state.set(m.address, state.get(m.address) ?? freshStats(m.address, this.cycle));
    }
  }

  get link(): SerialLink {
    return this.opts.link;
  }

  stats(): MeterStats[] {
    return [...this.state.values()].map((s) => ({ ...s }));
  }

  meterStats(address: string): MeterStats | undefined {
    const s = this.state.get(address);
    return s ? { ...s } : undefined;
  }

  get cyclesDone(): number {
    return this.cycle;
  }

  /** Timeout for one read exchange with this DI under this link's settings. */
  readTimeoutMs(requestBytes: number, di: number): number {
    return replyTimeoutMs(
      requestBytes,
      this.profile.preamble + FRAME_OVERHEAD + replyDataLength(di),
      this.opts.link.opts,
      this.opts.timing,
    );
  }

  /** One sweep over every meter that is due. Resolves after the sweep's readings are committed. */
  async sweep(spreadMs = 0): Promise<SweepResult> {
    const cycle = this.cycle++;
    const t0 = performance.now();
    const res: SweepResult = { cycle, polled: 0, read: 0, failed: 0, skipped: 0, elapsedMs: 0 };
    const list = [...this.meters.values()];
    const slot = list.length ? spreadMs / list.length : 0;
    for (let i = 0; i < list.length; i++) {
      if (!this.running && spreadMs > 0) break;
      const m = list[i]!;
      const s = this.state.get(m.address)!;
      if (s.nextCycle > cycle) {
        res.skipped++;
        continue;
      }
      if (slot > 0) {
        const wait = t0 + i * slot - performance.now();
        if (wait > 0) await this.sleep(wait);
      }
      res.polled++;
      const ok = await this.pollMeter(m, s, cycle);
      if (ok) res.read++;
      else res.failed++;
    }
    await Promise.allSettled([...this.inflight]);
    res.elapsedMs = performance.now() - t0;
    return res;
  }

  private async pollMeter(m: BusMeterConfig, s: MeterStats, cycle: number): Promise<boolean> {
    s.polls++;
    // A suspect meter gets one attempt per probe: its silence has already been confirmed.
    const attempts = s.consecutiveFailures > 0 ? 1 : 1 + this.retries;
    let anyOk = false;
    for (const di of m.dis ?? [DI.CURRENT]) {
      let done = false;
      for (let a = 0; a < attempts && !done; a++) {
        const outcome = await this.arbiter.run('poll', () => this.readOnce(m, di, s));
        if (outcome === 'ok') {
          done = true;
          anyOk = true;
        } else if (outcome === 'error-reply') done = true; // the meter answered; retrying will not change it
      }
    }
    if (anyOk) {
      s.consecutiveFailures = 0;
      s.state = 'ok';
      s.nextCycle = cycle + 1;
    } else {
      s.consecutiveFailures++;
      s.state = 'suspect';
      s.nextCycle = cycle + Math.min(2 ** (s.consecutiveFailures - 1), this.maxBackoffCycles);
    }
    return anyOk;
  }

  private async readOnce(
    m: BusMeterConfig,
    di: number,
    s: MeterStats,
  ): Promise<'ok' | 'timeout' | 'bad' | 'error-reply'> {
    const ser = this.ser.next();
    const request = buildReadRequest(
      m.address,
      di,
      ser,
      this.profile,
      m.meterType === undefined ? {} : { meterType: m.meterType },
    );
    s.attempts++;
    let kind = 'reply' as 'reply' | 'error-reply';
    const r = await this.opts.link.exchange({
      request,
      timeoutMs: this.readTimeoutMs(request.length, di),
      accept: (ev) => {
        const k = matchReply(ev.frame, { address: m.address, fn: FUNCTION.READ_DATA, di, ser });
        if (k === 'no') return false;
        kind = k;
        return true;
      },
    });
    s.badFrames += r.frameErrors;
    if (!r.reply) {
      s.timeouts++;
      return r.frameErrors > 0 ? 'bad' : 'timeout';
    }
    if (kind === 'error-reply') {
      s.errorReplies++;
      return 'error-reply';
    }
    const refusal = readingRefusal(r.reply.frame, this.profile);
    if (refusal) {
      s.refused++;
      s.lastRefusal = refusal.code;
      return 'error-reply';
    }
    if (!isReadingFrame(r.reply.frame)) {
      s.errorReplies++;
      return 'error-reply';
    }
    const reading = frameToReading(r.reply.frame, this.profile, { source: 'serial', raw: r.reply.raw });
    s.successes++;
    s.lastReadAt = reading.receivedAt;
    this.opts.onReading?.(reading);
    if (this.opts.pipeline) {
      // The wire does not wait for the database; a crash before commit only means the next sweep re-reads.
      const p = this.opts.pipeline
        .submit([{ reading, origin: `serial:${this.opts.link.path}` }])
        .catch((e) => this.opts.onError?.(e));
      this.inflight.add(p);
      void p.finally(() => this.inflight.delete(p));
    }
    return 'ok';
  }

  /** Valve open/close over the bus. Resolves with the meter's confirmed valve state. */
  async valve(address: string, action: 'open' | 'close'): Promise<ValveResult> {
    const m = this.meters.get(address);
    if (!m) throw MeterUnknown({ address });
    const commandId = randomUUID();
    const tries = 1 + (this.opts.commandRetries ?? 2);
    let lastFrame = '';
    for (let attempt = 1; attempt <= tries; attempt++) {
      const ser = this.ser.next();
      const request = buildValveCommand(
        address,
        action,
        ser,
        this.profile,
        m.meterType === undefined ? {} : { meterType: m.meterType },
      );
      if (attempt === 1) {
        await this.opts.commands?.create({
          id: commandId,
          meterId: address,
          transport: 'serial',
          action: `valve-${action}`,
          ser,
          requestFrame: toHex(request),
          status: 'sent',
        });
      }
      lastFrame = toHex(request);
      let kind = 'reply' as 'reply' | 'error-reply';
      const r = await this.arbiter.run('command', () =>
        this.opts.link.exchange({
          request,
          timeoutMs: replyTimeoutMs(
            request.length,
            this.profile.preamble + FRAME_OVERHEAD + 8,
            this.opts.link.opts,
            this.opts.timing,
          ),
          accept: (ev) => {
            const k = matchReply(ev.frame, { address, fn: FUNCTION.WRITE_DATA, di: DI.VALVE, ser });
            if (k === 'no') return false;
            kind = k;
            return true;
          },
        }),
      );
      if (!r.reply) continue;
      const replyFrame = toHex(r.reply.raw);
      const st = frameStatus(r.reply.frame, this.profile);
      if (kind === 'error-reply' || (r.reply.frame.control & CONTROL.ERROR) !== 0) {
        await this.opts.commands?.update(commandId, {
          status: 'rejected',
          replyFrame,
          errorCode: 'GATEWAY_COMMAND_REJECTED',
        });
        throw CommandRejected({ commandId, address, valve: st?.valve ?? 'unknown' });
      }
      const valve = st?.valve ?? 'unknown';
      await this.opts.commands?.update(commandId, { status: 'replied', replyFrame });
      return {
        commandId,
        valve,
        confirmed: valve === (action === 'open' ? 'open' : 'closed'),
        attempts: attempt,
        replyFrame,
      };
    }
    await this.opts.commands?.update(commandId, { status: 'timeout', errorCode: 'GATEWAY_COMMAND_TIMEOUT' });
    throw CommandTimeout({ commandId, address, attempts: tries, request: lastFrame });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const interval = this.opts.intervalMs ?? 60_000;
    this.loop = (async () => {
      while (this.running) {
        const t0 = performance.now();
        try {
          await this.sweep(this.opts.stagger === false ? 0 : interval * 0.8);
        } catch (e) {
          this.opts.onError?.(e);
        }
        const wait = t0 + interval - performance.now();
        if (wait > 0 && this.running) await this.sleep(wait);
      }
    })();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.stopWait = null;
        resolve();
      }, ms);
      this.stopWait = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopWait?.();
    await this.loop;
    await Promise.allSettled([...this.inflight]);
  }
}
