import { BadValue } from './errors.ts';
import type { DialectProfile, ReadingAlarm, ValveState } from './frame-types.ts';

export interface DecodedStatus {
  valve: ValveState;
  lowBattery: boolean;
  alarms: ReadingAlarm[];
}

const DEFAULT_VALVE: Record<'00' | '01' | '10' | '11', ValveState> = {
  '00': 'open',
  '01': 'closed',
  '10': 'fault',
  '11': 'fault',
};

const VALVE_FAULT: ReadingAlarm = { code: 'VALVE_FAULT', zh: '阀门异常', en: 'Valve fault', kind: 'meter' };
const LOW_BATTERY: ReadingAlarm = { code: 'LOW_BATTERY', zh: '电池欠压', en: 'Low battery', kind: 'meter' };

function valveCodes(profile: DialectProfile): Record<'00' | '01' | '10' | '11', ValveState> {
  return { ...DEFAULT_VALVE, ...(profile.valveCodes ?? {}) };
}

/**
 * ST byte 0: D1D0 valve, D2 low battery (reference §1.9); other bits and byte 1 per the maker profile.
 * Bits the profile does not define are still reported (ST_UNDEFINED_B<byte>_<bit>) so nothing set is lost.
 */
export function decodeStatus(st0: number, st1: number, profile: DialectProfile): DecodedStatus {
  const key = `${(st0 >> 1) & 1}${st0 & 1}` as '00' | '01' | '10' | '11';
  const valve = valveCodes(profile)[key];
  const lowBattery = (st0 & 0x04) !== 0;
  const alarms: ReadingAlarm[] = [];
  if (valve === 'fault') alarms.push(VALVE_FAULT);
  if (lowBattery) alarms.push(LOW_BATTERY);
  const bytes = [st0, st1];
  for (let byte = 0; byte < 2; byte++) {
    for (let bit = byte === 0 ? 3 : 0; bit < 8; bit++) {
      if ((bytes[byte]! & (1 << bit)) === 0) continue;
      const def = profile.statusBits?.find((s) => s.byte === byte && s.bit === bit);
      if (def) {
        const note = def.assumption
          ? { zh: '（待厂家确认）', en: ' (assumed, to confirm with maker)' }
          : { zh: '', en: '' };
        alarms.push({ code: def.code, zh: def.zh + note.zh, en: def.en + note.en, kind: 'meter' });
      } else {
        alarms.push({
          code: `ST_UNDEFINED_B${byte}_${bit}`,
          zh: `状态字节${byte + 1} D${bit} 置位（方言未定义其含义）`,
          en: `Status byte ${byte + 1} bit D${bit} set (meaning not defined by the dialect)`,
          kind: 'meter',
        });
      }
    }
  }
  return { valve, lowBattery, alarms };
}

export interface StatusInput {
  valve?: Exclude<ValveState, 'unknown'>;
  lowBattery?: boolean;
  /** Codes from profile.statusBits to set. */
  alarms?: string[];
}

/** Inverse of decodeStatus for simulators: returns [st0, st1]. Unknown alarm codes are rejected. */
export function encodeStatus(
  input: StatusInput | readonly [number, number],
  profile: DialectProfile,
): [number, number] {
  if (Array.isArray(input)) return [input[0]! & 0xff, input[1]! & 0xff];
  const s = input as StatusInput;
  let st0 = 0;
  let st1 = 0;
  const wanted = s.valve ?? 'open';
  const codes = valveCodes(profile);
  const key = (['00', '01', '11', '10'] as const).find((k) => codes[k] === wanted);
  if (key === undefined)
    throw BadValue(undefined, {
      zh: `profile ${profile.name} has no code for valve state ${wanted}`,
      en: `profile ${profile.name} has no code for valve state ${wanted}`,
    });
  st0 |= parseInt(key, 2);
  if (s.lowBattery) st0 |= 0x04;
  for (const code of s.alarms ?? []) {
    const def = profile.statusBits?.find((b) => b.code === code);
    if (!def)
      throw BadValue(undefined, {
        zh: `profile ${profile.name} defines no status bit ${code}`,
        en: `profile ${profile.name} defines no status bit ${code}`,
      });
    if (def.byte === 0) st0 |= 1 << def.bit;
    else st1 |= 1 << def.bit;
  }
  return [st0, st1];
}
