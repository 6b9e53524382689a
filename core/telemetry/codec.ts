import type { Cjt188Frame, DialectProfile, ErrorReplyLayout } from './frame-types.ts';
import { CONTROL, END, FRAME_OVERHEAD, MAX_DATA_LENGTH, PREAMBLE_BYTE, START } from './constants.ts';
import { addressFromWire, isValidAddress, writeAddress } from './bytes.ts';
import { BadAddress, BadDi, BadFrame, frameErrorFactories, type FrameErrorCode } from './errors.ts';
import type { MeterHubError } from '../errors/meterhub-error.ts';
import { resolveProfile } from './profiles.ts';

export type DecodeResult =
  | {
      ok: true;
      frame: Cjt188Frame;
      /** The frame bytes 68…16, without preamble. */
      raw: Uint8Array;
      /** Offset of the 0x68 in the input. */
      offset: number;
      /** Bytes after 16H that the profile's `trailer` option takes (e.g. NB-IoT RSSI). */
      trailer?: Uint8Array;
    }
  | { ok: false; code: FrameErrorCode; error: MeterHubError; offset: number };

/** Sum mod 256 of bytes [from, to). */
export function checksum(bytes: Uint8Array, from = 0, to = bytes.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += bytes[i]!;
  return s & 0xff;
}

export function errorLayout(profile: DialectProfile): ErrorReplyLayout {
  return profile.errorReply ?? 'di-ser-st';
}

/** Whether the DATA of a frame with this control byte starts with DI (2) + SER (1) under the profile. */
function dataLayout(control: number, profile: DialectProfile): ErrorReplyLayout {
  return (control & CONTROL.ERROR) !== 0 ? errorLayout(profile) : 'di-ser-st';
}

const diKey = (di: number) => di.toString(16).toUpperCase().padStart(4, '0');

/** Wire byte order of one DI under the profile: its own entry in `diOrders`, else the profile's `diOrder`. */
export function diWireOrder(profile: DialectProfile, di: number): 'le' | 'be' {
  return profile.diOrders?.[diKey(di)] ?? profile.diOrder;
}

/**
 * The DI carried by two wire bytes. With per-DI orders the two readings can both be plausible (`A0 17` is A017
 * big-endian or 17A0 little-endian); a DI the profile declares explicitly wins, else the profile's order.
 */
export function readDi(b0: number, b1: number, profile: DialectProfile): number {
  const le = b0 | (b1 << 8);
  const be = (b0 << 8) | b1;
  const own = profile.diOrder === 'le' ? le : be;
  if (!profile.diOrders) return own;
  const other = profile.diOrder === 'le' ? be : le;
  const otherOrder = profile.diOrder === 'le' ? 'be' : 'le';
  if (profile.diOrders[diKey(other)] === otherOrder) return other;
  return own;
}

/**
 * Parses a frame whose framing (length, checksum, end byte) is already verified.
 * `raw` starts at 0x68 and is owned by the returned frame (payload is a view into it).
 */
export function parseVerifiedFrame(raw: Uint8Array, profile: DialectProfile): Cjt188Frame {
  const control = raw[9]!;
  const len = raw[10]!;
  const frame: Cjt188Frame = {
    meterType: raw[1]!,
    address: addressFromWire(raw, 2),
    control,
    payload: raw.subarray(11, 11 + len),
  };
  const layout = dataLayout(control, profile);
  if (layout === 'di-ser-st' && len >= 3) {
    frame.di = readDi(raw[11]!, raw[12]!, profile);
    frame.ser = raw[13]!;
    frame.payload = raw.subarray(14, 11 + len);
  } else if (layout === 'ser-st' && len >= 1) {
    frame.ser = raw[11]!;
    frame.payload = raw.subarray(12, 11 + len);
  }
  return frame;
}

function fail(code: FrameErrorCode, offset: number, details: Record<string, unknown>, en?: string): DecodeResult {
  return {
    ok: false,
    code,
    offset,
    error: frameErrorFactories[code]({ offset, ...details }, en ? { zh: en, en } : undefined),
  };
}

/** Checks one candidate at `i` (a 0x68): framing only. `end` bounds the input the frame may use. */
function checkCandidate(bytes: Uint8Array, i: number): DecodeResult | { ok: true; total: number } {
  if (bytes.length - i < 11)
    return fail('FRAME_TRUNCATED', i, { have: bytes.length - i, need: 11 }, 'header incomplete');
  const len = bytes[i + 10]!;
  const total = FRAME_OVERHEAD + len;
  if (bytes.length - i < total)
    return fail(
      'FRAME_TRUNCATED',
      i,
      { have: bytes.length - i, need: total },
      `L=${len} needs ${total} bytes, have ${bytes.length - i}`,
    );
  const cs = checksum(bytes, i, i + 11 + len);
  const got = bytes[i + 11 + len]!;
  if (cs !== got)
    return fail('FRAME_CHECKSUM', i, { expected: cs, actual: got }, `computed ${hex2(cs)}, frame has ${hex2(got)}`);
  if (bytes[i + 12 + len] !== END)
    return fail('FRAME_END', i, { actual: bytes[i + 12 + len] }, `got ${hex2(bytes[i + 12 + len]!)}`);
  return { ok: true, total };
}

/**
 * Decodes exactly one frame. Like the stream decoder (wire.md §1), any leading noise is skipped (FE, FF, 00…) and
 * a 68H that does not start a valid frame is passed over for the next one; when none is valid, the first
 * candidate's error is returned. Bytes after 16H are FRAME_LENGTH unless the profile's `trailer` option takes
 * them. Never throws for bad bytes: returns `{ ok: false, code }`.
 */
export function decodeFrame(bytes: Uint8Array, profileOrName: DialectProfile | string): DecodeResult {
  const profile = resolveProfile(profileOrName);
  let first: DecodeResult | null = null;
  for (let i = bytes.indexOf(START); i >= 0; i = bytes.indexOf(START, i + 1)) {
    const c = checkCandidate(bytes, i);
    if (!c.ok) {
      first ??= c;
      continue;
    }
    const total = (c as { total: number }).total;
    const extra = bytes.length - i - total;
    const trailerLen = profile.trailer?.length ?? 0;
    if (extra > trailerLen) {
      return fail(
        'FRAME_LENGTH',
        i,
        { have: bytes.length - i, need: total + trailerLen },
        `L=${bytes[i + 10]} gives ${total} bytes but ${bytes.length - i} follow the noise`,
      );
    }
    const raw = bytes.slice(i, i + total);
    const res: DecodeResult = { ok: true, frame: parseVerifiedFrame(raw, profile), raw, offset: i };
    if (extra > 0) res.trailer = bytes.slice(i + total);
    return res;
  }
  return first ?? fail('FRAME_NO_START', bytes.length, {});
}

const hex2 = (n: number) => n.toString(16).toUpperCase().padStart(2, '0') + 'H';

export interface EncodeOptions {
  /** Number of 0xFE to prepend; default profile.preamble. */
  preamble?: number;
}

/**
 * Encodes a frame. Throws TELEMETRY_BAD_* for frames the wire cannot carry, including frames whose
 * DATA would decode differently under the profile (so decode(encode(f)) = f for every accepted frame).
 */
export function encodeFrame(
  frame: Cjt188Frame,
  profileOrName: DialectProfile | string,
  opts: EncodeOptions = {},
): Uint8Array {
  const profile = resolveProfile(profileOrName);
  const { meterType, control, di, ser, payload } = frame;
  const byteOk = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 255;
  if (!byteOk(meterType)) throw BadFrame({ meterType }, { zh: '表类型必须是 0..255', en: 'meterType must be 0..255' });
  if (!byteOk(control)) throw BadFrame({ control }, { zh: '控制码必须是 0..255', en: 'control must be 0..255' });
  if (!isValidAddress(frame.address)) throw BadAddress({ address: frame.address });
  if (di !== undefined && !(Number.isInteger(di) && di >= 0 && di <= 0xffff)) throw BadDi({ di });
  if (ser !== undefined && !byteOk(ser)) throw BadFrame({ ser }, { zh: 'SER 必须是 0..255', en: 'SER must be 0..255' });
  const layout = dataLayout(control, profile);
  const bad = (why: string): never => {
    throw BadFrame({ layout }, { zh: why, en: why });
  };
  let head = 0;
  if (layout === 'di-ser-st') {
    if ((di === undefined) !== (ser === undefined)) bad('DI and SER go together');
    if (di === undefined && payload.length >= 3) bad('DATA of 3+ bytes must start with DI and SER');
    head = di === undefined ? 0 : 3;
  } else if (layout === 'ser-st') {
    if (di !== undefined) bad("this profile's error replies carry no DI");
    if (ser === undefined && payload.length > 0) bad("this profile's error replies start with SER");
    head = ser === undefined ? 0 : 1;
  } else if (di !== undefined || ser !== undefined) bad("this profile's error replies carry only ST");
  const len = head + payload.length;
  if (len > MAX_DATA_LENGTH) bad(`DATA is ${len} bytes, at most ${MAX_DATA_LENGTH}`);
  const pre = opts.preamble ?? profile.preamble;
  const out = new Uint8Array(pre + FRAME_OVERHEAD + len);
  out.fill(PREAMBLE_BYTE, 0, pre);
  const p = pre;
  out[p] = START;
  out[p + 1] = meterType;
  writeAddress(frame.address, out, p + 2);
  out[p + 9] = control;
  out[p + 10] = len;
  let q = p + 11;
  if (head === 3) {
    if (diWireOrder(profile, di!) === 'le') {
      out[q] = di! & 0xff;
      out[q + 1] = di! >> 8;
    } else {
      out[q] = di! >> 8;
      out[q + 1] = di! & 0xff;
    }
    out[q + 2] = ser!;
    q += 3;
  } else if (head === 1) {
    out[q++] = ser!;
  }
  out.set(payload, q);
  q += payload.length;
  out[q] = checksum(out, p, q);
  out[q + 1] = END;
  return out;
}
