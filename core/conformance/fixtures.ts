/** Inputs the conformance kit feeds a library: sample values, blank and random cards, tool parameters. */
import { CARD_HEX_LENGTH, type MemoryCardType } from '../cards/card-types.ts';

export function sample() {
  return { kh: '3201000123', otherKh: '3201000999', ql: 20, buy: 35, klx: 1 } as const;
}

const ff = (bytes: number) => 'FF'.repeat(bytes);

/** Blank cards as they come from the card factory (reference/card-domain.md §1.1, §2.2). */
export function blankCards(t: MemoryCardType): Record<string, string> {
  if (t === '4442') {
    return {
      factory: 'A2131091FFFF8115' + ff(248),
      allFF: ff(256),
      allZero: '00'.repeat(256),
    };
  }
  // FZ 0F0F, IZ FF, SC F0F0 (transport code), SCAC FFFF, CPZ FF; application zones erased.
  return {
    factory: '0F0F' + ff(8) + 'F0F0' + 'FFFF' + ff(8) + ff(128),
    allFF: ff(150),
    allZero: '00'.repeat(150),
  };
}

/** Deterministic pseudo-random cards (xorshift32), so a failing run can be reproduced. */
export function randomCards(t: MemoryCardType, n: number, seed = 0x2545f491): string[] {
  let x = seed >>> 0;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x & 0xff;
  };
  const bytes = CARD_HEX_LENGTH[t] / 2;
  return Array.from({ length: n }, () =>
    Array.from({ length: bytes }, () => next().toString(16).padStart(2, '0').toUpperCase()).join(''),
  );
}

/** Parameters for the company-wide tool kinds (sdk/SPEC.zh-CN.md). */
export const TOOL_PARAMS: Record<string, string> = {
  SETUP: 'alarmGas=5;overdraft=0;limit=100',
  TRANSFER: 'cardNo=3201000123',
  CLOCK: 'time=20261123120000',
};
