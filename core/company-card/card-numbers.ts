/**
 * Encodings shared by the card, the PSAM and the meter (spec §4.1): card numbers and meter numbers as 8-byte
 * BCD, dates as BCD, chip serials as 8 bytes. Every encoder refuses what it cannot represent exactly.
 */
import { CompanyCardBadInput } from './company-card-errors.ts';

/** 1–16 decimal digits, left-padded with 0 to 16 digits, packed two per byte. */
export function encodeBcdNumber(digits: string, field: string): Buffer {
  if (typeof digits !== 'string' || !/^[0-9]{1,16}$/.test(digits)) {
    throw CompanyCardBadInput({ field }, { zh: '应为 1–16 位数字', en: 'expected 1–16 decimal digits' });
  }
  return Buffer.from(digits.padStart(16, '0'), 'hex');
}

/** The 16-digit form (leading zeros kept: the card does not know the number's original width). */
export function decodeBcdNumber(bytes: Uint8Array): string | null {
  const text = Buffer.from(bytes).toString('hex');
  return /^[0-9]+$/.test(text) ? text : null;
}

/** Packs a fixed-width digit string (dates 'YYYYMMDD', 'YYYYMMDDhhmmss', 'YYMM') as BCD. */
export function encodeBcdDigits(digits: string, width: number, field: string): Buffer {
  if (typeof digits !== 'string' || digits.length !== width || !/^[0-9]+$/.test(digits)) {
    throw CompanyCardBadInput({ field }, { zh: `应为 ${width} 位数字`, en: `expected ${width} decimal digits` });
  }
  return Buffer.from(digits, 'hex');
}

export function decodeBcdDigits(bytes: Uint8Array): string | null {
  const text = Buffer.from(bytes).toString('hex');
  return /^[0-9]*$/.test(text) ? text : null;
}

export function encodeSerial(serialHex: string, field = 'serial'): Buffer {
  if (typeof serialHex !== 'string' || !/^[0-9A-Fa-f]{16}$/.test(serialHex)) {
    throw CompanyCardBadInput({ field }, { zh: '芯片序列号应为 16 位十六进制', en: 'a chip serial is 16 hex digits' });
  }
  return Buffer.from(serialHex, 'hex');
}

export const NO_SERIAL = '0000000000000000';

export function checkUint(value: number, max: number, field: string): number {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw CompanyCardBadInput({ field }, { zh: `应为 0–${max} 的整数`, en: `expected an integer 0–${max}` });
  }
  return value;
}
