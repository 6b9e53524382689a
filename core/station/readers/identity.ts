/** Best-effort card identity from what a memory card offers (see CardIdentity). */
import { toHex } from '../chips/hex.ts';
import type { CardIdentity, ReaderDriver } from './reader-driver.ts';

const NONE: CardIdentity = { chipSerial: null, source: 'none', unique: false };

function meaningful(b: Uint8Array): boolean {
  return b.some((x) => x !== 0xff) && b.some((x) => x !== 0x00);
}

/** Shared by the drivers: reads only free areas, never verifies anything. */
export async function identifyCard(reader: ReaderDriver): Promise<CardIdentity> {
  const type = await reader.detectCard();
  if (type === '4442') {
    const code = await reader.read4442(0x15, 6);
    return meaningful(code) ? { chipSerial: toHex(code), source: 'factory-code', unique: false } : NONE;
  }
  if (type === '102') {
    const iz = await reader.read102(0, 2, 8);
    return meaningful(iz) ? { chipSerial: toHex(iz), source: 'issuer-zone', unique: false } : NONE;
  }
  if (type === 'cpu') return { chipSerial: toHex(await reader.cpuReset()), source: 'atr', unique: false };
  return NONE;
}
