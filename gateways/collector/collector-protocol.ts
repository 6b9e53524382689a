/**
 * Collector (抄表器) exchange on top of the generic CJ/T 188 codec, with company-private DIs
 * (docs/protocol/collector.md). Used by the gateway's CollectorClient and by the simulator, so both
 * sides share one definition.
 *
 *   C001 read  (01H)  status            → count u16, firstSeq u32, lastSeq u32, meters u16
 *   C002 read  (01H)  fromSeq u32, max u8 → n u8, n × record   (81H, or A1H when more records follow)
 *   C003 write (04H)  uptoSeq u32       → count u16, firstSeq u32   (deletes every record seq ≤ uptoSeq)
 *   C004 read  (01H)  address (7, wire) → n u8 (0|1), record      (latest stored record of one meter)
 *   C005 write (04H)  seq u32           → count u16, firstSeq u32   (deletes exactly that record)
 *   record = seq u32, len u8, len bytes of the meter's reply frame 68…16 as received
 * Integers are little-endian. A sequence number is never reused by one collector.
 */
import { CONTROL, FUNCTION, encodeFrame, type Cjt188Frame, type DialectProfile } from '../../core/telemetry/index.ts';

export const COLLECTOR_DI = {
  STATUS: 0xc001,
  READ_RECORDS: 0xc002,
  ACK_UPTO: 0xc003,
  READ_LATEST: 0xc004,
  ACK_ONE: 0xc005,
} as const;

export interface CollectorRecord {
  seq: number;
  frame: Uint8Array;
}

export interface CollectorStatus {
  count: number;
  firstSeq: number;
  lastSeq: number;
  meters: number;
}

/** DATA budget for records in one reply: 255 − DI(2) − SER(1) − n(1). */
export const RECORDS_BUDGET = 255 - 4;

const u16 = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8);
const u32 = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;
function putU16(out: Uint8Array, o: number, v: number): void {
  out[o] = v & 0xff;
  out[o + 1] = (v >>> 8) & 0xff;
}
function putU32(out: Uint8Array, o: number, v: number): void {
  out[o] = v & 0xff;
  out[o + 1] = (v >>> 8) & 0xff;
  out[o + 2] = (v >>> 16) & 0xff;
  out[o + 3] = (v >>> 24) & 0xff;
}

export function encodeU32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  putU32(b, 0, v);
  return b;
}

export function encodeReadRecords(fromSeq: number, max: number): Uint8Array {
  const b = new Uint8Array(5);
  putU32(b, 0, fromSeq);
  b[4] = max;
  return b;
}

export function decodeReadRecordsRequest(p: Uint8Array): { fromSeq: number; max: number } | null {
  return p.length >= 5 ? { fromSeq: u32(p, 0), max: p[4]! } : null;
}

export function encodeStatus(s: CollectorStatus): Uint8Array {
  const b = new Uint8Array(12);
  putU16(b, 0, s.count);
  putU32(b, 2, s.firstSeq);
  putU32(b, 6, s.lastSeq);
  putU16(b, 10, s.meters);
  return b;
}

export function decodeStatus(p: Uint8Array): CollectorStatus | null {
  if (p.length < 12) return null;
  return { count: u16(p, 0), firstSeq: u32(p, 2), lastSeq: u32(p, 6), meters: u16(p, 10) };
}

export function encodeAckReply(count: number, firstSeq: number): Uint8Array {
  const b = new Uint8Array(6);
  putU16(b, 0, count);
  putU32(b, 2, firstSeq);
  return b;
}

export function decodeAckReply(p: Uint8Array): { count: number; firstSeq: number } | null {
  return p.length >= 6 ? { count: u16(p, 0), firstSeq: u32(p, 2) } : null;
}

/** Packs as many records as fit; returns the payload and how many went in. */
export function encodeRecords(records: CollectorRecord[]): { payload: Uint8Array; packed: number } {
  const parts: number[] = [0];
  let packed = 0;
  for (const r of records) {
    if (parts.length + 5 + r.frame.length > RECORDS_BUDGET + 1) break;
    const head = new Uint8Array(5);
    putU32(head, 0, r.seq);
    head[4] = r.frame.length;
    parts.push(...head, ...r.frame);
    packed++;
  }
  parts[0] = packed;
  return { payload: Uint8Array.from(parts), packed };
}

export function decodeRecords(p: Uint8Array): CollectorRecord[] | null {
  if (p.length < 1) return null;
  const n = p[0]!;
  const out: CollectorRecord[] = [];
  let o = 1;
  for (let i = 0; i < n; i++) {
    if (o + 5 > p.length) return null;
    const seq = u32(p, o);
    const len = p[o + 4]!;
    o += 5;
    if (o + len > p.length) return null;
    out.push({ seq, frame: p.slice(o, o + len) });
    o += len;
  }
  return o === p.length ? out : null;
}

/** A collector request frame (generic codec; DATA = DI + SER + payload). */
export function collectorRequest(
  address: string,
  meterType: number,
  fn: typeof FUNCTION.READ_DATA | typeof FUNCTION.WRITE_DATA,
  di: number,
  ser: number,
  payload: Uint8Array,
  profile: DialectProfile | string,
): Uint8Array {
  const frame: Cjt188Frame = { meterType, address, control: fn, di, ser, payload };
  return encodeFrame(frame, profile);
}

export function collectorReply(
  address: string,
  meterType: number,
  fn: number,
  di: number,
  ser: number,
  payload: Uint8Array,
  profile: DialectProfile | string,
  more = false,
): Uint8Array {
  const frame: Cjt188Frame = {
    meterType,
    address,
    control: CONTROL.DIR_REPLY | fn | (more ? CONTROL.MORE : 0),
    di,
    ser,
    payload,
  };
  return encodeFrame(frame, profile);
}
