/** Best-effort card identity from what a memory card offers (see CardIdentity). */
import { toHex } from '../chips/hex.ts';
import type { CardIdentity, ReaderDriver } from './reader-driver.ts';

const NONE: CardIdentity = { chipSerial: null, source: 'none', unique: false };

function meaningful(b: Uint8Array): boolean {
  return b.some((x) => x !== 0xff) && b.some((x) => x !== 0x00);
}

/** Where a 4442 seller puts its per-card code, and a 102 its issuer zone (card byte addresses). */
export const CODE_4442 = { offset: 0x15, length: 6 } as const;
export const IZ_102 = { offset: 2, length: 8 } as const;

/**
 * The identity from bytes already read (`at` = the card address of `bytes[0]`), so a caller that has read the whole
 * card or public zone does not ask the card again.
 */
export function identityOf4442(bytes: Uint8Array, at: number): CardIdentity {
  const code = bytes.subarray(CODE_4442.offset - at, CODE_4442.offset - at + CODE_4442.length);
  return meaningful(code) ? { chipSerial: toHex(code), source: 'factory-code', unique: false } : NONE;
}

export function identityOf102(bytes: Uint8Array, at: number): CardIdentity {
  const iz = bytes.subarray(IZ_102.offset - at, IZ_102.offset - at + IZ_102.length);
  return meaningful(iz) ? { chipSerial: toHex(iz), source: 'issuer-zone', unique: false } : NONE;
}

/** Shared by the drivers: reads only free areas, never verifies anything. */
export async function identifyCard(reader: ReaderDriver): Promise<CardIdentity> {
  const type = await reader.detectCard();
  if (type === '4442')
    return identityOf4442(await reader.read4442(CODE_4442.offset, CODE_4442.length), CODE_4442.offset);
  if (type === '102') return identityOf102(await reader.read102(0, IZ_102.offset, IZ_102.length), IZ_102.offset);
  if (type === 'cpu') return { chipSerial: toHex(await reader.cpuReset()), source: 'atr', unique: false };
  return NONE;
}
