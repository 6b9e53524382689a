/**
 * The standard CJ/T 188 heat-meter 901F layout (meter types 20H–29H). A gas platform does not bill heat, so these
 * values never become a UnifiedReading (readingRefusal refuses them); they are decoded so that ops can see what a
 * heat meter on a shared bus or APN said, instead of a gas reading made up from the wrong offsets.
 *
 * Offsets after DI + SER (43 bytes, L = 2EH): xijunzhou sdqr_energy_node_class cj188.h HEAT_* (reference §1.11).
 * Decimal places (heat/power/volume 2, flow 4, temperatures 2, hours 0) follow common heat-meter practice and are
 * marked "to confirm" in docs/protocol/wire.md §3.6 until checked against the standard's text.
 */
import type { Cjt188Frame, DialectProfile, ReadingAlarm } from './frame-types.ts';
import { CONTROL, DI, FUNCTION, VOLUME_UNITS } from './constants.ts';
import { readBcdLe, scaleDecimal, toHex } from './bytes.ts';
import { readClock } from './clock.ts';
import { decodeStatus, type DecodedStatus } from './status.ts';
import { resolveProfile } from './profiles.ts';

export const HEAT_901F_LENGTH = 43;

export const isHeatMeterType = (t: number): boolean => t >= 0x20 && t <= 0x29;

/** Unit code → normalised unit and power of ten (reference §1.8: J/Wh/W families with ×10/×100 steps). */
const HEAT_UNITS: Record<number, { unit: string; exp: number }> = { 0x01: { unit: 'MJ', exp: -6 } };
const family = (first: number, unit: string, startExp: number, count: number) => {
  for (let k = 0; k < count; k++) HEAT_UNITS[first + k] = { unit, exp: startExp + k };
};
family(0x02, 'kWh', -3, 9); // 02 Wh … 05 kWh … 08 MWh … 0A MWh×100
family(0x0b, 'MJ', -3, 9); //  0B kJ … 0E MJ … 11 GJ … 13 GJ×100
family(0x14, 'kW', -3, 9); //  14 W … 17 kW … 1A MW … 1C MW×100
family(0x32, 'm³/h', -3, 6); // 32 L/h … 35 m³/h … 37 m³/h×100
for (const [code, v] of Object.entries(VOLUME_UNITS)) HEAT_UNITS[Number(code)] = { unit: 'm³', exp: v.exp };

export interface HeatQuantity {
  value: string;
  unit: string;
}

export interface HeatMetering {
  meterId: string;
  meterType: number;
  settlementHeat: HeatQuantity | null;
  currentHeat: HeatQuantity | null;
  heatPower: HeatQuantity | null;
  flowRate: HeatQuantity | null;
  accumulatedFlow: HeatQuantity | null;
  /** °C, decimal strings. */
  supplyTemperature: string | null;
  returnTemperature: string | null;
  /** Hours the meter has worked. */
  workingHours: string | null;
  meterTime: string | null;
  status: DecodedStatus;
  rawStatus: string;
  alarms: ReadingAlarm[];
}

const alarm = (code: string, zh: string, en: string): ReadingAlarm => ({ code, zh, en, kind: 'data' });

function quantity(
  p: Uint8Array,
  at: number,
  decimals: number,
  field: string,
  alarms: ReadingAlarm[],
): HeatQuantity | null {
  const v = readBcdLe(p, at, 4);
  const u = HEAT_UNITS[p[at + 4]!];
  if (!v.ok) {
    alarms.push(
      alarm(
        v.reason === 'no-data' ? 'VALUE_NO_DATA' : 'VALUE_INVALID_BCD',
        `${field}：无有效数据`,
        `${field}: no valid data`,
      ),
    );
    return null;
  }
  if (!u) {
    const h = p[at + 4]!.toString(16).toUpperCase().padStart(2, '0');
    alarms.push(alarm('UNIT_UNKNOWN', `${field}：单位代码 ${h}H 未知`, `${field}: unknown unit code ${h}H`));
    return null;
  }
  return { value: scaleDecimal(v.digits, decimals, u.exp), unit: u.unit };
}

function bcd3(p: Uint8Array, at: number, decimals: number, field: string, alarms: ReadingAlarm[]): string | null {
  const v = readBcdLe(p, at, 3);
  if (!v.ok) {
    alarms.push(
      alarm(
        v.reason === 'no-data' ? 'VALUE_NO_DATA' : 'VALUE_INVALID_BCD',
        `${field}：无有效数据`,
        `${field}: no valid data`,
      ),
    );
    return null;
  }
  if (decimals === 0) return v.digits.replace(/^0+(?=\d)/, '');
  return scaleDecimal(v.digits, decimals, 0);
}

/** Whether the frame is a heat meter's 901F read reply in the standard heat layout. */
export function isHeatMeteringFrame(frame: Cjt188Frame): boolean {
  return (
    isHeatMeterType(frame.meterType) &&
    (frame.control & (CONTROL.DIR_REPLY | CONTROL.ERROR)) === CONTROL.DIR_REPLY &&
    (frame.control & CONTROL.FUNCTION_MASK) === FUNCTION.READ_DATA &&
    frame.di === DI.CURRENT &&
    frame.payload.length === HEAT_901F_LENGTH
  );
}

/** Decodes a heat meter's 901F reply; null when the frame is not one (see isHeatMeteringFrame). */
export function decodeHeatMetering(frame: Cjt188Frame, profileOrName: DialectProfile | string): HeatMetering | null {
  if (!isHeatMeteringFrame(frame)) return null;
  const profile = resolveProfile(profileOrName);
  const p = frame.payload;
  const alarms: ReadingAlarm[] = [];
  const clock = readClock(p, 34, profile.clockOrder);
  if (!clock.ok)
    alarms.push(
      alarm(
        'CLOCK_INVALID',
        `表内时钟无效：${toHex(p.subarray(34, 41), ' ')}`,
        `meter clock invalid: ${toHex(p.subarray(34, 41), ' ')}`,
      ),
    );
  return {
    meterId: frame.address,
    meterType: frame.meterType,
    settlementHeat: quantity(p, 0, 2, '结算日热量 settlement-day heat', alarms),
    currentHeat: quantity(p, 5, 2, '当前热量 current heat', alarms),
    heatPower: quantity(p, 10, 2, '热功率 heat power', alarms),
    flowRate: quantity(p, 15, 4, '流量 flow rate', alarms),
    accumulatedFlow: quantity(p, 20, 2, '累计流量 accumulated flow', alarms),
    supplyTemperature: bcd3(p, 25, 2, '供水温度 supply temperature', alarms),
    returnTemperature: bcd3(p, 28, 2, '回水温度 return temperature', alarms),
    workingHours: bcd3(p, 31, 0, '累计工作时间 working hours', alarms),
    meterTime: clock.ok ? clock.time : null,
    status: decodeStatus(p[41]!, p[42]!, profile),
    rawStatus: toHex(p.subarray(41, 43)),
    alarms,
  };
}
