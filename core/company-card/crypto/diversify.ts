/**
 * Per-card key diversification (spec §5.3). A company master key never reaches a card or a meter's memory in
 * clear: each card holds keys derived from it in two steps, first with the card number, then with the chip
 * serial, so that (a) a card's keys say nothing about another card's, (b) a replacement card (same number,
 * new chip) gets new keys, and (c) a chip cannot be re-used under another card number with the same keys.
 *
 * One step, with an 8-byte factor F and its complement ~F:
 * - 3DES (PBOC style): left = 3DES_K(F), right = 3DES_K(~F), key = left | right.
 * - SM4: key = SM4_K(F | ~F) (one 16-byte block).
 */
import { type CardAlgorithm, encryptEcb } from './block-cipher.ts';

export function complement(factor: Uint8Array): Buffer {
  return Buffer.from(factor.map((b) => ~b & 0xff));
}

export function diversifyOnce(alg: CardAlgorithm, key16: Uint8Array, factor8: Uint8Array): Buffer {
  if (factor8.length !== 8) throw new RangeError('a diversification factor is 8 bytes');
  if (alg === '3des') {
    return Buffer.concat([encryptEcb('3des', key16, factor8), encryptEcb('3des', key16, complement(factor8))]);
  }
  return encryptEcb('sm4', key16, Buffer.concat([factor8, complement(factor8)]));
}

/** Card key = DIV(DIV(master, card no. as 8-byte BCD), chip serial). */
export function diversifyForCard(
  alg: CardAlgorithm,
  master16: Uint8Array,
  cardNo8: Uint8Array,
  serial8: Uint8Array,
): Buffer {
  return diversifyOnce(alg, diversifyOnce(alg, master16, cardNo8), serial8);
}
