/**
 * The driver-host protocol (docs/driver-protocol.md), shared by the supervisor and the Node driver host.
 *
 * This module has no dependencies on the rest of the server: the host process imports it, and a .NET or
 * native host implements the same text from the doc. Requests travel as JSON lines on the host's stdin;
 * responses and events travel as JSON lines on its stdout, each starting with FRAME_MARKER, because vendor
 * libraries print to stdout too and their output must never be mistaken for a frame.
 */

export const PROTOCOL_VERSION = 1;

/** ASCII RS (record separator) + "MH1 ". Nothing printable starts with RS, so vendor noise never matches. */
export const FRAME_MARKER = '\u001eMH1 ';
const MARKER_BYTES = Buffer.from(FRAME_MARKER, 'latin1');
const NEWLINE = 0x0a;

/** A frame longer than this is a protocol violation (largest honest frame is a few KiB). */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;
/** Vendor noise without a newline is flushed to the noise handler in pieces of this size. */
const MAX_NOISE_PIECE = 64 * 1024;

export const METHOD = {
  load: '$load',
  ping: '$ping',
  shutdown: '$shutdown',
} as const;

/** Error codes a host may put in `error.code`. */
export const HOST_ERROR = {
  BAD_FRAME: 'BAD_FRAME',
  UNKNOWN_METHOD: 'UNKNOWN_METHOD',
  NOT_LOADED: 'NOT_LOADED',
  ALREADY_LOADED: 'ALREADY_LOADED',
  LIBRARY_LOAD_FAILED: 'LIBRARY_LOAD_FAILED',
  FUNCTION_MISSING: 'FUNCTION_MISSING',
  BAD_PARAMS: 'BAD_PARAMS',
  INTERNAL: 'INTERNAL',
} as const;
export type HostErrorCode = (typeof HOST_ERROR)[keyof typeof HOST_ERROR];

export interface RequestFrame {
  id: number | string;
  method: string;
  params?: Record<string, unknown>;
}

export interface HostError {
  code: string;
  message: string;
  /** Interface parameter the error is about (BAD_PARAMS), never its value. */
  param?: string;
}

export type ResponseFrame =
  { id: number | string; result: Record<string, unknown> } | { id: number | string | null; error: HostError };

export interface ReadyEvent {
  event: 'ready';
  pid: number;
  /** e.g. "node v22.12.0", "dotnet 8.0.11". */
  runtime: string;
  /** Process architecture as Node names it: "x64", "ia32", "arm64". */
  arch: string;
  protocol: number;
  platform?: string;
}

export type HostFrame = ResponseFrame | ReadyEvent | { event: string; [k: string]: unknown };

export interface LoadParams {
  path: string;
  /** Interface function name -> exported name. */
  symbols?: Record<string, string>;
}

export interface LoadResult {
  /** Interface functions bound. */
  functions: string[];
  /** Interface functions the library does not export. */
  missing: string[];
  /** Interface function name -> the export actually bound (after the symbol map). */
  symbols: Record<string, string>;
}

/** Per output buffer conformance facts (reported under `$out` in every call result). */
export interface OutBufferReport {
  /** Buffer size the host allocated (and passed in a `size` parameter where the signature has one). */
  size: number;
  /** Bytes before the first NUL (or `size` when there is none). */
  len: number;
  /** A NUL was found within the buffer. */
  terminated: boolean;
  /** Guard bytes changed after the string's NUL, including past the end of the buffer. */
  touchedBytes: number;
  /** The part of touchedBytes that lies beyond `size` (a real overflow). */
  overflowBytes: number;
  /** Extent of the library's writes: offset of the last changed byte + 1 (0 when untouched). */
  writtenBytes: number;
  /** Longest string the spec allows here (card data, keys, kh); absent for text outputs. */
  specMax?: number;
  /** Bytes written past the spec's string and its NUL: max(0, writtenBytes - (specMax + 1)). */
  beyondSpecBytes?: number;
}

/** Per output int array (ReadUsage months/usage). */
export interface OutArrayReport {
  capacity: number;
  /** Entries changed beyond `count` (when the function has a `count` output) but within capacity. */
  touchedBeyondCount: number;
  /** Entries changed beyond `capacity` (a real overflow). */
  overflowEntries: number;
}

export type OutReport = OutBufferReport | OutArrayReport;

/** JSON with every non-ASCII character escaped, so a frame is pure ASCII whatever the host's code page. */
export function encodeJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

export function encodeFrame(frame: HostFrame): string {
  return `${FRAME_MARKER}${encodeJson(frame)}\n`;
}

export function encodeRequest(req: RequestFrame): string {
  return `${encodeJson(req)}\n`;
}

export interface FrameReaderHandlers {
  /** One frame's JSON text (marker and line end stripped). */
  frame(json: string): void;
  /** Anything on stdout that is not a frame, one line (or a long piece) at a time. */
  noise(text: string): void;
  /** A frame exceeded MAX_FRAME_BYTES. */
  overflow(): void;
}

/**
 * Splits a host's stdout into frames and noise. A frame starts at the marker wherever it appears, even
 * when vendor output without a newline precedes it on the same line, and ends at the next "\n"
 * (a preceding "\r" is dropped for hosts that write CRLF).
 */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  // No parameter properties here or in the host: the host must also run under Node's type stripping.
  private readonly on: FrameReaderHandlers;

  constructor(handlers: FrameReaderHandlers) {
    this.on = handlers;
  }

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      const m = this.buf.indexOf(MARKER_BYTES);
      if (m < 0) {
        this.drainNoise(this.buf.length - (MARKER_BYTES.length - 1));
        return;
      }
      if (m > 0) this.emitNoise(this.buf.subarray(0, m), true);
      const nl = this.buf.indexOf(NEWLINE, m + MARKER_BYTES.length);
      if (nl < 0) {
        this.buf = this.buf.subarray(m);
        if (this.buf.length > MAX_FRAME_BYTES) {
          this.buf = Buffer.alloc(0);
          this.on.overflow();
        }
        return;
      }
      let end = nl;
      if (end > m && this.buf[end - 1] === 0x0d) end--;
      const json = this.buf.subarray(m + MARKER_BYTES.length, end).toString('utf8');
      this.buf = this.buf.subarray(nl + 1);
      this.on.frame(json);
    }
  }

  /** Emits complete noise lines; keeps a tail that may be the start of a marker split across chunks. */
  private drainNoise(keepFrom: number): void {
    const lastNl = this.buf.lastIndexOf(NEWLINE);
    if (lastNl >= 0) {
      this.emitNoise(this.buf.subarray(0, lastNl + 1), false);
      this.buf = this.buf.subarray(lastNl + 1);
    } else if (this.buf.length > MAX_NOISE_PIECE && keepFrom > 0) {
      this.emitNoise(this.buf.subarray(0, keepFrom), true);
      this.buf = this.buf.subarray(keepFrom);
    }
  }

  private emitNoise(bytes: Buffer, includeTail: boolean): void {
    const text = bytes.toString('utf8');
    const lines = text.split('\n');
    if (!includeTail) lines.pop();
    for (const line of lines) {
      const l = line.endsWith('\r') ? line.slice(0, -1) : line;
      if (l.length > 0) this.on.noise(l);
    }
  }

  /** Whatever is left when the stream ends is noise. */
  end(): void {
    if (this.buf.length > 0) this.emitNoise(this.buf, true);
    this.buf = Buffer.alloc(0);
  }
}

export function isResponse(f: unknown): f is ResponseFrame {
  if (typeof f !== 'object' || f === null) return false;
  const o = f as Record<string, unknown>;
  if (!('id' in o)) return false;
  if ('result' in o) return typeof o.result === 'object' && o.result !== null && !Array.isArray(o.result);
  if ('error' in o) {
    const e = o.error as Record<string, unknown> | null;
    return typeof e === 'object' && e !== null && typeof e.code === 'string' && typeof e.message === 'string';
  }
  return false;
}

export function isReadyEvent(f: unknown): f is ReadyEvent {
  if (typeof f !== 'object' || f === null) return false;
  const o = f as Record<string, unknown>;
  return o.event === 'ready' && typeof o.pid === 'number' && typeof o.protocol === 'number';
}
