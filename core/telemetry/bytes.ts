import { BadAddress, BadHex, BadValue } from './errors.ts';

const HEX = '0123456789ABCDEF';

export function toHex(bytes: Uint8Array, sep = ''): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) {
    if (i > 0 && sep) s += sep;
    const b = bytes[i]!;
    s += HEX[b >> 4]! + HEX[b & 15]!;
  }
  return s;
}

/** Accepts spaces, colons, dashes and a 0x prefix, as operators paste hex from many tools. */
export function fromHex(text: string): Uint8Array {
  const clean = text.replace(/0x/gi, '').replace(/[\s:,-]/g, '');
  if (clean.length === 0 || clean.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(clean)) {
    throw BadHex({ input: text.slice(0, 80) });
  }
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** 7 wire bytes A0..A6 → 14 characters A6..A0 as printed. Non-BCD nibbles (AA wildcard) show as hex. */
export function addressFromWire(b: Uint8Array, offset: number): string {
  let s = '';
  for (let i = offset + 6; i >= offset; i--) {
    const v = b[i]!;
    s += HEX[v >> 4]! + HEX[v & 15]!;
  }
  return s;
}

/** 14 printed characters (digits, or all A for the wildcard) → A0..A6 written into `out` at `offset`. */
export function writeAddress(address: string, out: Uint8Array, offset: number): void {
  if (!isValidAddress(address)) throw BadAddress({ address });
  const a = address.toUpperCase();
  for (let i = 0; i < 7; i++) {
    const hi = a.charCodeAt(12 - 2 * i);
    const lo = a.charCodeAt(13 - 2 * i);
    out[offset + i] = (nibble(hi) << 4) | nibble(lo);
  }
}

export function isValidAddress(address: string): boolean {
  return /^[0-9]{14}$/.test(address) || /^[aA]{14}$/.test(address);
}

function nibble(c: number): number {
  return c >= 0x61 ? c - 0x57 : c >= 0x41 ? c - 0x37 : c - 0x30;
}

/** BCD byte → 0..99, or -1 if either nibble is not a decimal digit. */
export function bcdByte(v: number): number {
  const hi = v >> 4;
  const lo = v & 15;
  return hi > 9 || lo > 9 ? -1 : hi * 10 + lo;
}

export function toBcdByte(n: number): number {
  return (Math.floor(n / 10) << 4) | (n % 10);
}

export type BcdValue = { ok: true; digits: string } | { ok: false; reason: 'no-data' | 'invalid' };

/** n BCD bytes, least significant first → decimal digit string (most significant first, leading zeros kept). */
export function readBcdLe(b: Uint8Array, offset: number, n: number): BcdValue {
  let digits = '';
  let sawF = false;
  let sawBad = false;
  for (let i = offset + n - 1; i >= offset; i--) {
    const v = b[i]!;
    const hi = v >> 4;
    const lo = v & 15;
    if (hi === 15 || lo === 15) sawF = true;
    else if (hi > 9 || lo > 9) sawBad = true;
    digits += String.fromCharCode(0x30 + hi, 0x30 + lo);
  }
  // FF (F nibbles) is how meters say "no data" (HSL returns NaN); other hex nibbles are corruption.
  if (sawBad) return { ok: false, reason: 'invalid' };
  if (sawF) return { ok: false, reason: 'no-data' };
  return { ok: true, digits };
}

/**
 * Shifts a string of digits with `decimals` implied decimals by 10^exp, exactly, and normalises:
 * no leading zeros, at least 2 decimals kept, trailing zeros beyond 2 decimals removed.
 */
export function scaleDecimal(digits: string, decimals: number, exp: number): string {
  let d = decimals - exp;
  let s = digits;
  if (d < 0) {
    s += '0'.repeat(-d);
    d = 0;
  }
  while (s.length <= d) s = '0' + s;
  let intPart = s.slice(0, s.length - d).replace(/^0+(?=\d)/, '');
  let frac = s.slice(s.length - d);
  while (frac.length > 2 && frac.endsWith('0')) frac = frac.slice(0, -1);
  while (frac.length < 2) frac += '0';
  if (intPart === '') intPart = '0';
  return `${intPart}.${frac}`;
}

/**
 * Decimal string (e.g. "556677.00", "12.5", "3") → 8 BCD digits with 2 implied decimals after dividing by 10^exp.
 * Throws TELEMETRY_BAD_VALUE if the value is negative, has more precision than the unit allows, or overflows.
 */
export function decimalToBcdDigits(value: string, exp: number, totalDigits = 8): string {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(value.trim());
  if (!m) throw BadValue({ value }, { zh: '不是非负十进制数', en: 'not a non-negative decimal number' });
  const intPart = m[1]!;
  const frac = m[2] ?? '';
  // value × 100 / 10^exp must be an integer.
  const all = intPart + frac;
  const scale = 2 - frac.length - exp; // power of ten to multiply `all` by
  let digits: string;
  if (scale >= 0) digits = all + '0'.repeat(scale);
  else {
    const cut = all.slice(all.length + scale);
    if (/[^0]/.test(cut))
      throw BadValue({ value, exp }, { zh: '精度超出单位允许范围', en: 'more precision than the unit allows' });
    digits = all.slice(0, all.length + scale);
  }
  digits = digits.replace(/^0+/, '') || '0';
  if (digits.length > totalDigits) throw BadValue({ value, exp }, { zh: '数值超出范围', en: 'value out of range' });
  return digits.padStart(totalDigits, '0');
}

/** Digit string (MSD first, even length) → BCD bytes least significant first, into out at offset. */
export function writeBcdLe(digits: string, out: Uint8Array, offset: number): void {
  const n = digits.length / 2;
  for (let i = 0; i < n; i++) {
    const p = digits.length - 2 * (i + 1);
    out[offset + i] = ((digits.charCodeAt(p) - 0x30) << 4) | (digits.charCodeAt(p + 1) - 0x30);
  }
}
