/**
 * Reading identity. The id is derived from the dedupe key, so the same reading arriving twice (a broker
 * redelivery, a collector re-upload, a serial retry) gets the same id everywhere — and billing's
 * Idempotency-Key is that id.
 */
import { createHash } from 'node:crypto';
import type { UnifiedReading } from '../telemetry/frame-types.ts';

/** (meterId, meterTime) when the meter stamped the reading; else the hash of the raw frame. */
export function dedupeKey(r: Pick<UnifiedReading, 'meterId' | 'meterTime' | 'rawFrame'>): string {
  if (r.meterTime) return `m|${r.meterId}|${r.meterTime}`;
  return `f|${createHash('sha256').update(normalizeHex(r.rawFrame)).digest('hex')}`;
}

export function readingId(key: string): string {
  return `rd_${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
}

export function normalizeHex(hex: string): string {
  return hex.replace(/[\s:]/g, '').toUpperCase();
}

/** Decimal strings only: digits with an optional fraction and sign. Floats never reach the store. */
export function isDecimalString(v: string): boolean {
  return /^-?\d{1,18}(\.\d{1,8})?$/.test(v);
}
