/**
 * Card passwords as the gas-card interface writes them (sdk/include/gascard.h):
 * 4442 PSC = 6 hex; 102 = SC (4 hex), optionally "SC:EZ1:EZ2" (4:12:8 hex) when the maker's library uses
 * non-factory erase keys (factory erase keys are all FF). Errors name the field, never the value.
 */
import { fromHex, isHex } from '../chips/hex.ts';
import { ReaderBadData } from './reader-errors.ts';

export const FACTORY_PSC_4442 = 'FFFFFF';
export const FACTORY_SC_102 = 'F0F0';
export const FACTORY_EZ1 = 'FFFFFFFFFFFF';
export const FACTORY_EZ2 = 'FFFFFFFF';

export interface Key102 {
  sc: Uint8Array;
  ez1: Uint8Array;
  ez2: Uint8Array;
}

export function parsePsc4442(text: unknown, field: string): Uint8Array {
  if (typeof text !== 'string' || !isHex(text, 3)) {
    throw ReaderBadData({ field }, { zh: `${field} 应为 6 个十六进制字符`, en: `${field} must be 6 hex digits` });
  }
  return fromHex(text, 3);
}

export function parseKey102(text: unknown, field: string): Key102 {
  const bad = () =>
    ReaderBadData(
      { field },
      {
        zh: `${field} 应为 4 个十六进制字符，或 SC:EZ1:EZ2（4:12:8 个十六进制字符）`,
        en: `${field} must be 4 hex digits, or SC:EZ1:EZ2 (4:12:8 hex digits)`,
      },
    );
  if (typeof text !== 'string') throw bad();
  const parts = text.split(':');
  if (parts.length === 1 && isHex(text, 2)) {
    return { sc: fromHex(text, 2), ez1: fromHex(FACTORY_EZ1, 6), ez2: fromHex(FACTORY_EZ2, 4) };
  }
  const [sc, ez1, ez2] = parts;
  if (
    parts.length !== 3 ||
    sc === undefined ||
    ez1 === undefined ||
    ez2 === undefined ||
    !isHex(sc, 2) ||
    !isHex(ez1, 6) ||
    !isHex(ez2, 4)
  )
    throw bad();
  return { sc: fromHex(sc, 2), ez1: fromHex(ez1, 6), ez2: fromHex(ez2, 4) };
}
