import type { Cjt188Frame, DialectProfile } from './frame-types.ts';
import { END, FRAME_OVERHEAD, MAX_DATA_LENGTH, PREAMBLE_BYTE, START } from './constants.ts';
import { frameErrorFactories, type FrameErrorCode } from './errors.ts';
import type { MeterHubError } from '../errors/meterhub-error.ts';
import { parseVerifiedFrame } from './codec.ts';
import { resolveProfile } from './profiles.ts';

export interface DecodedFrameEvent {
  frame: Cjt188Frame;
  /** Frame bytes 68…16 (a private copy). */
  raw: Uint8Array;
  /** Position of the 0x68 in the whole stream since construction/reset. */
  streamOffset: number;
  /** Bytes after 16H taken by the profile's `trailer` option (e.g. NB-IoT RSSI); absent when none came. */
  trailer?: Uint8Array;
}

export interface FrameErrorEvent {
  code: FrameErrorCode;
  error: MeterHubError;
  /** Position of the rejected 0x68 in the stream; decoding resumes at streamOffset + 1. */
  streamOffset: number;
}

export interface StreamDecoderOptions {
  profile: DialectProfile | string;
  onFrame: (ev: DecodedFrameEvent) => void;
  onError?: (ev: FrameErrorEvent) => void;
  /**
   * Candidates with L above this are rejected at once (FRAME_LENGTH) instead of waiting for 13+L bytes.
   * Default 255.
   */
  maxDataLength?: number;
}

export interface StreamDecoderStats {
  frames: number;
  errors: number;
  /** Bytes skipped while hunting for 0x68, excluding 0xFE preamble. */
  noiseBytes: number;
  preambleBytes: number;
}

/**
 * Length-driven CJ/T 188 stream decoder: hunts for 0x68, waits for 13+L bytes, verifies CS and 0x16.
 * A bad candidate is reported through onError and the decoder resyncs one byte later; nothing here throws.
 *
 * Serial transports should call flush() when the line goes quiet (inter-byte timeout) or a request times out:
 * a stray 0x68 in noise can announce a long frame that never comes, and flush() drops it so a real frame
 * already buffered behind it is found.
 */
export class FrameStreamDecoder {
  readonly stats: StreamDecoderStats = { frames: 0, errors: 0, noiseBytes: 0, preambleBytes: 0 };
  private profile: DialectProfile;
  private readonly onFrame: (ev: DecodedFrameEvent) => void;
  private readonly onError: ((ev: FrameErrorEvent) => void) | undefined;
  private readonly maxLen: number;
  // Pending bytes live in buf[start, end); buf grows rarely and is reused, so steady state allocates only per frame.
  private buf = new Uint8Array(512);
  private start = 0;
  private end = 0;
  /** Stream position of buf[start]. */
  private base = 0;
  private queue: Array<({ type: 'frame' } & DecodedFrameEvent) | ({ type: 'error' } & FrameErrorEvent)> = [];

  constructor(opts: StreamDecoderOptions) {
    this.profile = resolveProfile(opts.profile);
    this.onFrame = opts.onFrame;
    this.onError = opts.onError;
    this.maxLen = Math.min(opts.maxDataLength ?? MAX_DATA_LENGTH, MAX_DATA_LENGTH);
  }

  /** Bytes held back waiting for the rest of a frame. */
  get buffered(): number {
    return this.end - this.start;
  }

  setProfile(profile: DialectProfile | string): void {
    this.profile = resolveProfile(profile);
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.start === this.end) {
      // Fast path: nothing pending, scan the caller's chunk in place and keep only the unfinished tail.
      this.start = this.end = 0;
      const used = this.scan(chunk, 0, chunk.length, false);
      this.base += used;
      if (used < chunk.length) this.append(chunk.subarray(used));
      this.deliver();
      return;
    }
    this.append(chunk);
    this.scanBuffer(false);
    this.deliver();
  }

  /** End of a burst: whatever is pending cannot complete; report it and salvage any frame behind it. */
  flush(): void {
    if (this.start === this.end) return;
    this.scanBuffer(true);
    this.deliver();
  }

  /** Drops pending bytes silently (e.g. before a new request on a half-duplex bus). */
  reset(): void {
    this.base += this.end - this.start;
    this.start = this.end = 0;
  }

  private scanBuffer(final: boolean): void {
    const used = this.scan(this.buf, this.start, this.end, final);
    this.base += used - this.start;
    this.start = used;
    if (this.start === this.end) this.start = this.end = 0;
  }

  private append(chunk: Uint8Array): void {
    const pending = this.end - this.start;
    if (this.end + chunk.length > this.buf.length) {
      if (pending + chunk.length <= this.buf.length) {
        this.buf.copyWithin(0, this.start, this.end);
      } else {
        const next = new Uint8Array(Math.max(this.buf.length * 2, pending + chunk.length));
        next.set(this.buf.subarray(this.start, this.end));
        this.buf = next;
      }
      this.start = 0;
      this.end = pending;
    }
    this.buf.set(chunk, this.end);
    this.end += chunk.length;
  }

  /** Scans b[from, to); returns the index of the first byte still needed. */
  private scan(b: Uint8Array, from: number, to: number, final: boolean): number {
    let i = from;
    while (i < to) {
      const v = b[i]!;
      if (v !== START) {
        if (v === PREAMBLE_BYTE) this.stats.preambleBytes++;
        else this.stats.noiseBytes++;
        i++;
        continue;
      }
      const avail = to - i;
      if (avail < 11) {
        if (!final) return i;
        this.report('FRAME_TRUNCATED', b, from, i, { have: avail, need: 11 });
        i++;
        continue;
      }
      const len = b[i + 10]!;
      if (len > this.maxLen) {
        this.report('FRAME_LENGTH', b, from, i, { length: len, max: this.maxLen });
        i++;
        continue;
      }
      const total = FRAME_OVERHEAD + len;
      if (avail < total) {
        if (!final) return i;
        this.report('FRAME_TRUNCATED', b, from, i, { have: avail, need: total });
        i++;
        continue;
      }
      const csAt = i + 11 + len;
      let s = 0;
      for (let k = i; k < csAt; k++) s += b[k]!;
      if ((s & 0xff) !== b[csAt]) {
        this.report('FRAME_CHECKSUM', b, from, i, { expected: s & 0xff, actual: b[csAt] });
        i++;
        continue;
      }
      if (b[csAt + 1] !== END) {
        this.report('FRAME_END', b, from, i, { actual: b[csAt + 1] });
        i++;
        continue;
      }
      // A dialect whose modem appends bytes after 16H: wait for them (or the end of the burst) and keep them.
      const want = this.profile.trailer?.length ?? 0;
      if (want > 0 && avail < total + want && !final) return i;
      const take = Math.min(want, avail - total);
      const raw = b.slice(i, i + total);
      const streamOffset = this.posOf(b, from, i);
      const trailer = take > 0 ? b.slice(i + total, i + total + take) : undefined;
      i += total + take;
      this.stats.frames++;
      this.emitFrame(raw, streamOffset, trailer);
    }
    return i;
  }

  private posOf(_b: Uint8Array, from: number, i: number): number {
    // `from` is the index whose stream position is `base` (chunk start in the fast path, buf[start] otherwise).
    return this.base + (i - from);
  }

  private emitFrame(raw: Uint8Array, streamOffset: number, trailer: Uint8Array | undefined): void {
    const ev: { type: 'frame' } & DecodedFrameEvent = {
      type: 'frame',
      frame: parseVerifiedFrame(raw, this.profile),
      raw,
      streamOffset,
    };
    if (trailer) ev.trailer = trailer;
    this.queue.push(ev);
  }

  private report(code: FrameErrorCode, b: Uint8Array, from: number, i: number, details: Record<string, unknown>): void {
    this.stats.errors++;
    if (!this.onError) return;
    const streamOffset = this.posOf(b, from, i);
    this.queue.push({
      type: 'error',
      code,
      streamOffset,
      error: frameErrorFactories[code]({ streamOffset, ...details }),
    });
  }

  /**
   * Callbacks run only after the decoder state is committed, so a throwing or re-entrant callback can neither
   * duplicate nor lose a frame. Every queued event is delivered; the first callback error is rethrown after.
   */
  private deliver(): void {
    if (this.queue.length === 0) return;
    const events = this.queue;
    this.queue = [];
    let failure: unknown;
    let failed = false;
    for (const ev of events) {
      try {
        if (ev.type === 'frame') {
          const { type: _t, ...frameEvent } = ev;
          this.onFrame(frameEvent);
        } else this.onError?.({ code: ev.code, error: ev.error, streamOffset: ev.streamOffset });
      } catch (e) {
        if (!failed) {
          failed = true;
          failure = e;
        }
      }
    }
    if (failed) throw failure;
  }
}

/** Convenience for tests, the CLI and batch uploads: decodes a whole byte string into frames and errors in order. */
export function decodeAll(
  bytes: Uint8Array,
  profile: DialectProfile | string,
): Array<({ type: 'frame' } & DecodedFrameEvent) | ({ type: 'error' } & FrameErrorEvent)> {
  const out: Array<({ type: 'frame' } & DecodedFrameEvent) | ({ type: 'error' } & FrameErrorEvent)> = [];
  const d = new FrameStreamDecoder({
    profile,
    onFrame: (ev) => out.push({ type: 'frame', ...ev }),
    onError: (ev) => out.push({ type: 'error', ...ev }),
  });
  d.push(bytes);
  d.flush();
  return out;
}
