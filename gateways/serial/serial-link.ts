/**
 * One serial port speaking CJ/T 188: a length-driven stream decoder (the codec's) does the framing; the
 * inter-byte-timeout parser is used only to notice line silence and flush stale partial frames out of
 * the decoder. One exchange at a time — callers go through the BusArbiter.
 */
import { InterByteTimeoutParser } from '@serialport/parser-inter-byte-timeout';
import { SerialPort } from 'serialport';
import { FrameStreamDecoder, type DecodedFrameEvent, type DialectProfile } from '../../core/telemetry/index.ts';
import { SerialPortFailed } from '../../core/readings/errors.ts';
import { staleFlushMs, type LineSettings, type TimingOptions } from './timing.ts';

/** A reply timer firing this much after its due time means the host, not the line, held it up. */
const STALL_MS = 25;
/** Each extension is as long as the stall it follows; a few of them bound a dead meter's cost on a sick host. */
const MAX_STALL_EXTENSIONS = 3;

export interface SerialLinkOptions extends LineSettings {
  path: string;
  profile: DialectProfile | string;
  timing?: TimingOptions;
}

export interface ExchangeOptions {
  request: Uint8Array;
  /** True for the reply we wait for (address, control, DI, SER checked by the caller). */
  accept(ev: DecodedFrameEvent): boolean;
  timeoutMs: number;
}

export interface ExchangeResult {
  reply: DecodedFrameEvent | null;
  /** Valid frames that were not the awaited reply (late replies, other stations). */
  foreign: number;
  /** Candidates rejected by the decoder (checksum, end byte, truncated). */
  frameErrors: number;
  elapsedMs: number;
}

interface Waiter {
  accept(ev: DecodedFrameEvent): boolean;
  resolve(ev: DecodedFrameEvent | null): void;
  foreign: number;
  frameErrors: number;
}

export class SerialLink {
  readonly port: SerialPort;
  private readonly decoder: FrameStreamDecoder;
  private waiter: Waiter | null = null;
  readonly counters = {
    bytesIn: 0,
    bytesOut: 0,
    staleFlushes: 0,
    exchanges: 0,
    frameErrors: 0,
    foreign: 0,
    /** Reply deadlines moved because this process, not the line, was stalled when they fell due. */
    stallExtensions: 0,
    /** Reply deadlines moved because bytes were still arriving when they fell due (a reply under way). */
    busyLineExtensions: 0,
    /**
     * Replies that came after more than half their timeout: the margin a slow line or a busy host is eating.
     * Rare on a healthy bus; many say the next ones will be timeouts that no meter caused.
     */
    marginalReplies: 0,
  };
  /** When the last byte came in (performance.now()). */
  private lastByteAt = -Infinity;

  constructor(readonly opts: SerialLinkOptions) {
    this.port = new SerialPort({
      path: opts.path,
      baudRate: opts.baudRate,
      dataBits: opts.dataBits ?? 8,
      parity: opts.parity ?? 'even',
      stopBits: opts.stopBits ?? 1,
      autoOpen: false,
    });
    this.decoder = new FrameStreamDecoder({
      profile: opts.profile,
      onFrame: (ev) => this.onFrame(ev),
      onError: () => {
        this.counters.frameErrors++;
        if (this.waiter) this.waiter.frameErrors++;
      },
    });
    this.port.on('data', (chunk: Buffer) => {
      this.counters.bytesIn += chunk.length;
      this.lastByteAt = performance.now();
      this.decoder.push(chunk);
    });
    const silence = new InterByteTimeoutParser({ interval: staleFlushMs(opts, opts.timing) });
    this.port.pipe(silence);
    silence.on('data', () => {
      // The line went quiet: a partial frame still held now can never complete (e.g. noise with a stray
      // 68H announcing a long frame). Flush it — the decoder salvages any real frame buffered behind it.
      // Not in this turn, though: after the event loop stalls (a loaded host), the expired silence timer runs
      // before the poll phase reads the bytes that arrived meanwhile, so the "silence" may be ours, not the
      // line's, and flushing would cut a whole reply in two. setImmediate runs after that poll phase; only if
      // no byte came in by then was the line really quiet.
      const seen = this.counters.bytesIn;
      setImmediate(() => {
        if (this.counters.bytesIn === seen && this.decoder.buffered > 0) {
          this.counters.staleFlushes++;
          this.decoder.flush();
        }
      });
    });
    this.port.on('error', () => {});
  }

  get path(): string {
    return this.opts.path;
  }

  open(): Promise<void> {
    return new Promise((resolve, reject) =>
      this.port.open((err) =>
        err ? reject(SerialPortFailed({ path: this.opts.path }, { zh: err.message, en: err.message })) : resolve(),
      ),
    );
  }

  close(): Promise<void> {
    if (!this.port.isOpen) return Promise.resolve();
    return new Promise((resolve) => this.port.close(() => resolve()));
  }

  private onFrame(ev: DecodedFrameEvent): void {
    const w = this.waiter;
    if (w && w.accept(ev)) {
      this.waiter = null;
      w.resolve(ev);
      return;
    }
    this.counters.foreign++;
    if (w) w.foreign++;
  }

  /** Writes a request and waits for the accepted reply or the timeout. Never two at once. */
  async exchange(o: ExchangeOptions): Promise<ExchangeResult> {
    if (this.waiter) throw new Error('SerialLink.exchange is not re-entrant; use the BusArbiter');
    if (!this.port.isOpen) throw SerialPortFailed({ path: this.opts.path }, { zh: '串口未打开', en: 'port not open' });
    this.counters.exchanges++;
    // CJ/T 188 has no transaction id: anything left over belongs to an earlier exchange.
    this.decoder.reset();
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const waiter: Waiter = { accept: o.accept, resolve: () => {}, foreign: 0, frameErrors: 0 };
    const replied = new Promise<DecodedFrameEvent | null>((resolve) => {
      waiter.resolve = resolve;
      let due = performance.now() + o.timeoutMs;
      let extensions = 0;
      const expire = () => {
        // A timer that runs late says this process was stalled (a loaded host), not the line: the reply may be
        // waiting unread in the port, and after a stall libuv runs expired timers before it reads. Give the reads
        // back the time the stall took (at least one silence interval), a bounded number of times, so a dead
        // meter still costs a bounded wait.
        // Likewise a reply whose bytes are still coming in when the deadline falls (a stall earlier in the window
        // held up the sender's side of this host too): wait for the line to go quiet, as the decoder would.
        const now = performance.now();
        const late = now - due;
        const silence = staleFlushMs(this.opts, this.opts.timing);
        const busy = this.lastByteAt > started && now - this.lastByteAt < silence && this.decoder.buffered > 0;
        if ((late > STALL_MS || busy) && extensions < MAX_STALL_EXTENSIONS) {
          extensions++;
          if (late > STALL_MS) this.counters.stallExtensions++;
          else this.counters.busyLineExtensions++;
          const more = Math.max(late, silence);
          due = now + more;
          timer = setTimeout(expire, more);
          return;
        }
        if (this.waiter === waiter) this.waiter = null;
        resolve(null);
      };
      timer = setTimeout(expire, o.timeoutMs);
    });
    this.waiter = waiter;
    try {
      await new Promise<void>((resolve, reject) => {
        this.port.write(Buffer.from(o.request), (err) => (err ? reject(err) : resolve()));
      });
      this.counters.bytesOut += o.request.length;
    } catch (e) {
      clearTimeout(timer);
      this.waiter = null;
      throw SerialPortFailed({ path: this.opts.path }, { zh: (e as Error).message, en: (e as Error).message });
    }
    const reply = await replied;
    clearTimeout(timer);
    const elapsedMs = performance.now() - started;
    if (reply && elapsedMs > o.timeoutMs / 2) this.counters.marginalReplies++;
    return { reply, foreign: waiter.foreign, frameErrors: waiter.frameErrors, elapsedMs };
  }
}
