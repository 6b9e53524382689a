/**
 * Reply validation for request/response over CJ/T 188 (no transaction id): a reply must come from the
 * addressed meter, carry the reply bit and the request's function, and echo DI and SER where the
 * profile's layout carries them. Used by the serial bus master, the collector client and MQTT downlinks.
 */
import { CONTROL, type Cjt188Frame } from '../core/telemetry/index.ts';

export interface Expected {
  address: string;
  fn: number;
  di?: number;
  ser: number;
}

export type MatchResult = 'reply' | 'error-reply' | 'no';

export function matchReply(frame: Cjt188Frame, e: Expected): MatchResult {
  if (frame.address !== e.address) return 'no';
  if ((frame.control & CONTROL.DIR_REPLY) === 0) return 'no';
  if ((frame.control & CONTROL.FUNCTION_MASK) !== e.fn) return 'no';
  const isError = (frame.control & CONTROL.ERROR) !== 0;
  if (frame.ser !== undefined && frame.ser !== e.ser) return 'no';
  if (e.di !== undefined && frame.di !== undefined && frame.di !== e.di) return 'no';
  // A normal reply must echo both; only error replies of some dialects drop them.
  if (!isError && (frame.ser === undefined || (e.di !== undefined && frame.di === undefined))) return 'no';
  return isError ? 'error-reply' : 'reply';
}

/** SER rolls over 0..255 per link; a fresh one per exchange tells a late reply from the current one. */
export class SerCounter {
  private n: number;
  constructor(seed = Math.floor(Math.random() * 256)) {
    this.n = seed & 0xff;
  }
  next(): number {
    this.n = (this.n + 1) & 0xff;
    return this.n;
  }
}
