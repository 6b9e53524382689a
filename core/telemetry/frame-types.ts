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

/** Layout of the DATA field of an error reply (control D6 = 1). See docs/protocol/wire.md §错误应答. */
export type ErrorReplyLayout = 'di-ser-st' | 'ser-st' | 'st';

export type ValveState = 'open' | 'closed' | 'fault' | 'unknown';

export interface DialectProfile {
  name: string;
  maker?: string;
  diOrder: 'le' | 'be';
  /**
   * Per-DI exceptions to diOrder, keys 4 upper-case hex digits: some firmware sends 901F as `1F 90` but A017 as
   * `A0 17` (maker 7833). Decoding prefers a DI declared here when the two byte orders disagree.
   */
  diOrders?: Record<string, 'le' | 'be'>;
  /**
   * Meter types whose 901F/D12x replies this profile reads as volume readings: "HH" or "HH-HH" (hex). Default
   * water 10–19 and gas 30–39, which share the 19-byte layout; other types (heat 20–29) are refused, never guessed.
   */
  meterTypes?: string[];
  /**
   * Bytes a transport module appends after 16H (e.g. NB-IoT signal strength). They are recorded on the reading
   * under `name` instead of making the frame a length error.
   */
  trailer?: { length: number; name: string; zh: string; en: string; assumption?: boolean };
  clockOrder: 'le' | 'be';
  /** Number of 0xFE sent before requests (and replies built by simulators). Receivers accept any number. */
  preamble: number;
  /** Maker-private DIs and their meanings. */
  privateDis?: Record<string, { zh: string; en: string; assumption?: boolean }>;
  /** Status bit meanings beyond the standard valve/battery bits. */
  statusBits?: Array<{ byte: 0 | 1; bit: number; code: string; zh: string; en: string; assumption?: boolean }>;
  source: string;
  /** Error-reply DATA layout; default 'di-ser-st' (company standard). */
  errorReply?: ErrorReplyLayout;
  /** ST byte 0 bits D1D0 → valve state, keys '00' '01' '10' '11'; default 00 open, 01 closed, 10/11 fault. */
  valveCodes?: Partial<Record<'00' | '01' | '10' | '11', ValveState>>;
  description?: { zh: string; en: string };
  /** Points not confirmed by a public or maker source; each must be confirmed with the maker. */
  assumptions?: string[];
}

export type ReadingSource = 'serial' | 'collector' | 'mqtt';

export interface ReadingAlarm {
  code: string;
  zh: string;
  en: string;
  /** 'meter' = reported by the meter in ST; 'data' = found by the codec (invalid clock, unknown unit, …). */
  kind?: 'meter' | 'data';
}

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
    valve: ValveState;
    lowBattery: boolean;
    alarms: ReadingAlarm[];
  };
  source: ReadingSource;
  rawFrame: string;
  /** DI of the reply this reading came from (0x901F, 0xD120…0xD12B). */
  di?: number;
  ser?: number;
  /** Raw ST bytes as hex ("2184"), null when the reply carries no status. */
  rawStatus?: string | null;
  /** Bytes the dialect's transport appended after 16H (profile `trailer`), e.g. NB-IoT RSSI. */
  trailer?: { name: string; hex: string };
}
