/** The card families MeterHub handles. Memory cards are computed on the server; CPU cards by the maker's library. */
export const CARD_TYPES = ['4442', '102', 'cpu'] as const;
export type CardType = (typeof CARD_TYPES)[number];
export type MemoryCardType = Exclude<CardType, 'cpu'>;

export function isMemoryCard(t: CardType): t is MemoryCardType {
  return t !== 'cpu';
}

/** Hex lengths fixed by sdk/SPEC.zh-CN.md (mirrors sdk/include/gascard.h). */
export const CARD_HEX_LENGTH: Record<MemoryCardType, number> = { '4442': 512, '102': 300 };
export const PUBLIC_ZONE_102_HEX = 44;
export const KEY_HEX_LENGTH: Record<MemoryCardType, number> = { '4442': 6, '102': 4 };

/** klx: 1 民用 residential, 2 工业 industrial. */
export type MeterKind = 1 | 2;

/** What the seed's Read returns: kh, ql, cs, klx. */
export interface CardValues {
  cardNo: string;
  gas: number;
  count: number;
  meterKind: MeterKind;
}

/** What every memory-card writing function returns: data to write and the passwords. */
export interface CardWrite {
  data: string;
  oldKey: string;
  newKey: string;
}

/** Result of Check: 0 user card, 1 tool/clearing card, -1 not this maker's (other negatives = errors). */
export type CheckCode = number;

export interface MeterWriteBack {
  written: boolean;
  status: number;
  lastCode: number;
  /** YYYYMM -> usage, newest first. Usage is a decimal string in m³ (the library reports 0.01 m³ units). */
  months: Array<{ month: string; usage: string }>;
}

export const LIMITS = {
  cardNoMaxLength: 32,
  gasMax: 99_999_999,
  countMax: 32_767,
} as const;
