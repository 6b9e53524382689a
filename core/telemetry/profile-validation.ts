/** Checks dialect profile data (built-in, a plugin's file, a test's object) and reads its meter-type ranges. */
import type { DialectProfile, ErrorReplyLayout, ValveState } from './frame-types.ts';
import { ProfileInvalid } from './errors.ts';

const VALVE_STATES: ValveState[] = ['open', 'closed', 'fault', 'unknown'];
const LAYOUTS: ErrorReplyLayout[] = ['di-ser-st', 'ser-st', 'st'];

/** Checks a profile object (e.g. parsed JSON) and returns it typed; throws TELEMETRY_PROFILE_INVALID. */
export function validateProfile(obj: unknown, origin = 'profile'): DialectProfile {
  const fail = (why: string): never => {
    throw ProfileInvalid({ origin }, { zh: why, en: why });
  };
  if (typeof obj !== 'object' || obj === null) fail('not an object');
  const o = obj as Record<string, unknown>;
  if (typeof o.name !== 'string' || !/^[a-z0-9][a-z0-9._-]*$/.test(o.name)) fail('name must be lower-case [a-z0-9._-]');
  if (o.maker !== undefined && typeof o.maker !== 'string') fail('maker must be a string');
  if (o.diOrder !== 'le' && o.diOrder !== 'be') fail('diOrder must be "le" or "be"');
  if (o.clockOrder !== 'le' && o.clockOrder !== 'be') fail('clockOrder must be "le" or "be"');
  if (typeof o.preamble !== 'number' || !Number.isInteger(o.preamble) || o.preamble < 0 || o.preamble > 16)
    fail('preamble must be an integer 0..16');
  if (typeof o.source !== 'string' || o.source.length === 0) fail('source is required');
  if (o.errorReply !== undefined && !LAYOUTS.includes(o.errorReply as ErrorReplyLayout))
    fail(`errorReply must be one of ${LAYOUTS.join(', ')}`);
  if (o.valveCodes !== undefined) {
    if (typeof o.valveCodes !== 'object' || o.valveCodes === null) fail('valveCodes must be an object');
    for (const [k, v] of Object.entries(o.valveCodes as object)) {
      if (!['00', '01', '10', '11'].includes(k) || !VALVE_STATES.includes(v as ValveState))
        fail(`bad valveCodes entry ${k}`);
    }
  }
  if (o.privateDis !== undefined) {
    if (typeof o.privateDis !== 'object' || o.privateDis === null) fail('privateDis must be an object');
    for (const [k, v] of Object.entries(o.privateDis as object)) {
      if (!/^[0-9A-F]{4}$/.test(k)) fail(`privateDis key ${k} must be 4 upper-case hex digits`);
      const e = v as Record<string, unknown>;
      if (typeof e?.zh !== 'string' || typeof e?.en !== 'string') fail(`privateDis ${k} needs zh and en`);
    }
  }
  if (o.diOrders !== undefined) {
    if (typeof o.diOrders !== 'object' || o.diOrders === null || Array.isArray(o.diOrders))
      fail('diOrders must be an object');
    for (const [k, v] of Object.entries(o.diOrders as object)) {
      if (!/^[0-9A-F]{4}$/.test(k)) fail(`diOrders key ${k} must be 4 upper-case hex digits`);
      if (v !== 'le' && v !== 'be') fail(`diOrders ${k} must be "le" or "be"`);
    }
  }
  if (o.meterTypes !== undefined) {
    if (!Array.isArray(o.meterTypes) || o.meterTypes.length === 0) fail('meterTypes must be a non-empty array');
    for (const t of o.meterTypes as unknown[]) {
      if (typeof t !== 'string' || parseTypeRange(t) === null)
        fail(`meterTypes entry ${String(t)} must be "HH" or "HH-HH" (hex)`);
    }
  }
  if (o.trailer !== undefined) {
    const t = o.trailer as Record<string, unknown> | null;
    if (typeof t !== 'object' || t === null) fail('trailer must be an object');
    const n = t!.length;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 16)
      fail('trailer.length must be an integer 1..16');
    if (typeof t!.name !== 'string' || !/^[a-z][a-zA-Z0-9_]*$/.test(t!.name))
      fail('trailer.name must be an identifier');
    if (typeof t!.zh !== 'string' || typeof t!.en !== 'string') fail('trailer needs zh and en');
  }
  if (o.statusBits !== undefined) {
    if (!Array.isArray(o.statusBits)) fail('statusBits must be an array');
    for (const s of o.statusBits as Array<Record<string, unknown>>) {
      if (
        (s.byte !== 0 && s.byte !== 1) ||
        typeof s.bit !== 'number' ||
        !Number.isInteger(s.bit) ||
        s.bit < 0 ||
        s.bit > 7
      ) {
        fail('statusBits entries need byte 0|1 and bit 0..7');
      }
      if (s.byte === 0 && (s.bit as number) < 3) fail('statusBits may not redefine byte 0 bits 0..2 (valve, battery)');
      if (typeof s.code !== 'string' || typeof s.zh !== 'string' || typeof s.en !== 'string')
        fail('statusBits entries need code, zh, en');
    }
  }
  return o as unknown as DialectProfile;
}

/** "30" or "30-39" (hex) → [lo, hi]; null when malformed. */
function parseTypeRange(t: string): [number, number] | null {
  const m = /^([0-9A-Fa-f]{2})(?:-([0-9A-Fa-f]{2}))?$/.exec(t);
  if (!m) return null;
  const lo = parseInt(m[1]!, 16);
  const hi = m[2] === undefined ? lo : parseInt(m[2], 16);
  return lo <= hi ? [lo, hi] : null;
}

/** Water 10–19 and gas 30–39 share the 19-byte 901F layout (reference §1.7); nothing else is read by default. */
export const DEFAULT_READING_METER_TYPES = ['10-19', '30-39'] as const;

/** Whether the profile reads 901F/D12x replies of this meter type as volume readings. */
export function profileReadsMeterType(profile: DialectProfile, meterType: number): boolean {
  for (const t of profile.meterTypes ?? DEFAULT_READING_METER_TYPES) {
    const r = parseTypeRange(t);
    if (r && meterType >= r[0] && meterType <= r[1]) return true;
  }
  return false;
}
