/**
 * The company key system (spec §5): key kinds, their on-card ids and usages, master key sets by version, and
 * the derivation of every per-card key. A master key set lives only in security modules (PSAM, the meter's
 * ESAM, the HSM); this module is what those modules run inside their boundary.
 */
import { type CardAlgorithm } from './crypto/block-cipher.ts';
import { diversifyForCard } from './crypto/diversify.ts';
import { encodeBcdNumber, encodeSerial } from './card-numbers.ts';

export type KeyKind =
  | 'transport'
  | 'cardMaster'
  | 'maintenance'
  | 'externalAuth'
  | 'internalAuth'
  | 'purchaseMac'
  | 'writeBackMac'
  | 'lineProtection';

/**
 * One code per kind: the PSAM's P1 when it derives a session key, and (for the kinds a card stores) the key
 * id on the card. purchaseMac and writeBackMac are never stored on a card: the card has no use for them, and
 * a card broken open must not yield a key that can forge purchases or meter data.
 */
export const KEY_CODE: Record<KeyKind, number> = {
  cardMaster: 0x00,
  maintenance: 0x01,
  externalAuth: 0x02,
  internalAuth: 0x03,
  purchaseMac: 0x04,
  writeBackMac: 0x05,
  lineProtection: 0x06,
  transport: 0x0f,
};

export const KIND_BY_CODE = new Map<number, KeyKind>(Object.entries(KEY_CODE).map(([k, v]) => [v, k as KeyKind]));

/** Key kinds written into a card's key files: cardMaster in the MF, the rest in the gas DF. */
export const CARD_DF_KEYS: readonly KeyKind[] = ['maintenance', 'externalAuth', 'internalAuth', 'lineProtection'];

/** Wrong-try limit written with each authentication key (the card counts down, 63Cx, then 6983). */
export const AUTH_KEY_TRIES = 15;

/** The company's master keys of one version. The transport key is the card supplier's, version 0 only. */
export interface MasterKeySet {
  version: number;
  algorithm: CardAlgorithm;
  keys: Partial<Record<KeyKind, Uint8Array>>;
}

/** The card number used to diversify the transport key, which is set before a card has a number. */
export const TRANSPORT_CARD_NO = '0';

/** Card key of `kind` for one card: DIV(DIV(master, card no.), serial). */
export function deriveCardKey(set: MasterKeySet, kind: KeyKind, cardNo: string, serialHex: string): Buffer | null {
  const master = set.keys[kind];
  if (!master) return null;
  const no = kind === 'transport' ? TRANSPORT_CARD_NO : cardNo;
  return diversifyForCard(set.algorithm, master, encodeBcdNumber(no, 'cardNo'), encodeSerial(serialHex));
}

/** Usage byte of a key record on the card (spec §5.4). */
export const KEY_USAGE = {
  keyManagement: 0x01,
  maintenance: 0x02,
  externalAuth: 0x03,
  internalAuth: 0x04,
  line: 0x06,
} as const;

export function usageOf(kind: KeyKind): number {
  switch (kind) {
    case 'cardMaster':
    case 'transport':
      return KEY_USAGE.keyManagement;
    case 'maintenance':
      return KEY_USAGE.maintenance;
    case 'externalAuth':
      return KEY_USAGE.externalAuth;
    case 'internalAuth':
      return KEY_USAGE.internalAuth;
    case 'lineProtection':
      return KEY_USAGE.line;
    default:
      throw new RangeError(`${kind} keys are never stored on a card`);
  }
}

/** On-card key id: cardMaster and transport both occupy MF key 00 (transport until personalisation). */
export function cardKeyId(kind: KeyKind): number {
  return kind === 'transport' ? 0x00 : KEY_CODE[kind];
}
