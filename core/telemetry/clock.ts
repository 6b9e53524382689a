import { BadValue } from './errors.ts';
import { bcdByte, toBcdByte } from './bytes.ts';

export type ClockResult =
  { ok: true; time: string } | { ok: false; reason: 'no-data' | 'invalid-bcd' | 'out-of-range' };

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

export function daysInMonth(year: number, month: number): number {
  return [
    31,
    (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28,
    31,
    30,
    31,
    30,
    31,
    31,
    30,
    31,
    30,
    31,
  ][month - 1]!;
}

/**
 * 7 BCD bytes of meter clock. 'le' = ss mm hh DD MM YY CC (2018/KingDa/hftangyu); 'be' = CC YY MM DD hh mm ss (HSL).
 * Returns meter-local time "YYYY-MM-DDTHH:mm:ss" with no zone: the meter does not know its zone.
 */
export function readClock(b: Uint8Array, offset: number, order: 'le' | 'be'): ClockResult {
  const f = new Array<number>(7);
  let allF = true;
  for (let k = 0; k < 7; k++) {
    const v = b[offset + (order === 'le' ? k : 6 - k)]!;
    if (v !== 0xff) allF = false;
    f[k] = bcdByte(v);
  }
  if (allF) return { ok: false, reason: 'no-data' };
  if (f.some((x) => x < 0)) return { ok: false, reason: 'invalid-bcd' };
  const [ss, mm, hh, DD, MM, YY, CC] = f as [number, number, number, number, number, number, number];
  const year = CC * 100 + YY;
  if (MM < 1 || MM > 12 || DD < 1 || DD > daysInMonth(year, MM) || hh > 23 || mm > 59 || ss > 59) {
    return { ok: false, reason: 'out-of-range' };
  }
  return { ok: true, time: `${pad(year, 4)}-${pad(MM)}-${pad(DD)}T${pad(hh)}:${pad(mm)}:${pad(ss)}` };
}

const TIME_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})$/;

export function parseMeterTime(text: string): [number, number, number, number, number, number] | null {
  const m = TIME_RE.exec(text);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || s > 59) return null;
  return [y, mo, d, h, mi, s];
}

/** Writes "YYYY-MM-DDTHH:mm:ss" as 7 BCD bytes in the given order; null writes FF×7 (no data). */
export function writeClock(time: string | null, order: 'le' | 'be', out: Uint8Array, offset: number): void {
  if (time === null) {
    out.fill(0xff, offset, offset + 7);
    return;
  }
  const p = parseMeterTime(time);
  if (!p)
    throw BadValue(undefined, {
      zh: `meter time must be a valid "YYYY-MM-DDTHH:mm:ss", got ${time}`,
      en: `meter time must be a valid "YYYY-MM-DDTHH:mm:ss", got ${time}`,
    });
  const [y, mo, d, h, mi, s] = p;
  const f = [s, mi, h, d, mo, y % 100, Math.floor(y / 100)];
  for (let k = 0; k < 7; k++) out[offset + (order === 'le' ? k : 6 - k)] = toBcdByte(f[k]!);
}
