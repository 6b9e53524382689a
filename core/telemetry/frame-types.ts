/**
 * CJ/T 188 frames and the unified reading model (docs/protocol/). Volumes are decimal strings, never floats.
 */
export interface Cjt188Frame {
  /** 0x30–0x39 gas; 0xAA wildcard. */
  meterType: number;
  /** 14 digits as printed on the meter (A6…A0). */
  address: string;
  /** Full control byte (D7 direction, D6 error, D5 more-follows, D4..D0 function). */
  control: number;
  /** Data identifier as conventionally written, e.g. 0x901F; byte order on the wire is a profile setting. */
  di?: number;
  ser?: number;
  /** Data after DI and SER. */
  payload: Uint8Array;
}

export interface DialectProfile {
  name: string;
  maker?: string;
  diOrder: 'le' | 'be';
  clockOrder: 'le' | 'be';
  preamble: number;
  /** Maker-private DIs and their meanings. */
  privateDis?: Record<string, { zh: string; en: string }>;
  /** Status bit meanings beyond the standard valve/battery bits. */
  statusBits?: Array<{ byte: 0 | 1; bit: number; code: string; zh: string; en: string }>;
  source: string;
}

export type ReadingSource = 'serial' | 'collector' | 'mqtt';

export interface UnifiedReading {
  meterId: string;
  maker: string;
  meterType: number;
  meterTime: string | null;
  receivedAt: string;
  cumulative: string | null;
  settlement: string | null;
  history: Record<string, string>;
  status: {
    valve: 'open' | 'closed' | 'fault' | 'unknown';
    lowBattery: boolean;
    alarms: Array<{ code: string; zh: string; en: string }>;
  };
  source: ReadingSource;
  rawFrame: string;
}
