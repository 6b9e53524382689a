/**
 * Serial timing derived from the line settings and frame sizes (reference §4.4), not fixed 3–5 s.
 *
 * A reply timeout = request wire time + worst slave turnaround (330 bit times + 50 ms, the M-Bus window
 * of EN 13757-2 that libmbus uses) + wire time of the longest expected reply + adapter latency both ways
 * (USB-serial buffers, FTDI default 16 ms) + a small margin. At 2400 8E1 with a 901F read that is ≈ 0.5 s.
 */
export interface LineSettings {
  baudRate: number;
  dataBits?: 7 | 8;
  parity?: 'none' | 'even' | 'odd';
  stopBits?: 1 | 2;
}

export interface TimingOptions {
  /** Worst-case slave turnaround in bit times, plus a fixed part (EN 13757-2: 330 bits + 50 ms). */
  turnaroundMaxBits?: number;
  turnaroundMaxExtraMs?: number;
  /** Best case (11 bit times) — used for the wire-time bound. */
  turnaroundMinBits?: number;
  /** One-way latency added by the adapter (USB-serial, serial server). */
  adapterLatencyMs?: number;
  marginMs?: number;
}

export const DEFAULT_TIMING: Required<TimingOptions> = {
  turnaroundMaxBits: 330,
  turnaroundMaxExtraMs: 50,
  turnaroundMinBits: 11,
  adapterLatencyMs: 16,
  marginMs: 20,
};

export function bitsPerChar(s: LineSettings): number {
  return 1 + (s.dataBits ?? 8) + ((s.parity ?? 'even') === 'none' ? 0 : 1) + (s.stopBits ?? 1);
}

export function charTimeMs(s: LineSettings): number {
  return (bitsPerChar(s) * 1000) / s.baudRate;
}

export function wireTimeMs(bytes: number, s: LineSettings): number {
  return bytes * charTimeMs(s);
}

export function replyTimeoutMs(
  requestBytes: number,
  maxReplyBytes: number,
  s: LineSettings,
  t: TimingOptions = {},
): number {
  const o = { ...DEFAULT_TIMING, ...t };
  const turnaround = (o.turnaroundMaxBits * 1000) / s.baudRate + o.turnaroundMaxExtraMs;
  return Math.ceil(
    wireTimeMs(requestBytes, s) + turnaround + wireTimeMs(maxReplyBytes, s) + 2 * o.adapterLatencyMs + o.marginMs,
  );
}

/** The physical lower bound of one request/reply exchange: both frames on the wire + minimum turnaround. */
export function exchangeBoundMs(
  requestBytes: number,
  replyBytes: number,
  s: LineSettings,
  t: TimingOptions = {},
): number {
  const o = { ...DEFAULT_TIMING, ...t };
  return wireTimeMs(requestBytes + replyBytes, s) + (o.turnaroundMinBits * 1000) / s.baudRate;
}

/**
 * Line silence after which bytes still held by the decoder are stale (the inter-byte-timeout parser's
 * interval). Longer than any gap inside one frame (adapter bursts), short enough to clear before the
 * next exchange.
 */
export function staleFlushMs(s: LineSettings, t: TimingOptions = {}): number {
  const o = { ...DEFAULT_TIMING, ...t };
  return Math.max(50, Math.ceil(10 * charTimeMs(s)), 3 * o.adapterLatencyMs);
}
