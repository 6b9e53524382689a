/**
 * MACs of the company CPU card (spec §6):
 * - ISO/IEC 9797-1 padding method 2: append 80, then 00 up to a whole block (always at least one byte).
 * - 3DES keys: MAC algorithm 3 ("retail MAC", ANSI X9.19): single-DES CBC with K1 from the IV, then the last
 *   block is decrypted with K2 and encrypted with K1. This is what PBOC cards call the 3DES MAC.
 * - SM4 keys: MAC algorithm 1 (plain CBC-MAC) with SM4 and a 16-byte IV, as PBOC 3.0 does for SM4.
 * The card and the terminals keep the leftmost 4 bytes (`truncate`).
 */
import { type CardAlgorithm, blockSize, desDecrypt, desEncrypt, encryptEcb, xorInto } from './block-cipher.ts';

export function padMethod2(data: Uint8Array, size: number): Buffer {
  const total = (Math.floor(data.length / size) + 1) * size;
  const out = Buffer.alloc(total);
  out.set(data, 0);
  out[data.length] = 0x80;
  return out;
}

/** Removes method-2 padding; null when it is not there (a decryption under the wrong key, in practice). */
export function unpadMethod2(data: Uint8Array): Buffer | null {
  let i = data.length - 1;
  while (i >= 0 && data[i] === 0x00) i--;
  if (i < 0 || data[i] !== 0x80) return null;
  return Buffer.from(data.subarray(0, i));
}

function ivFor(alg: CardAlgorithm, iv: Uint8Array | undefined): Buffer {
  const size = blockSize(alg);
  if (iv === undefined) return Buffer.alloc(size);
  if (iv.length !== size) throw new RangeError(`IV must be ${size} bytes`);
  return Buffer.from(iv);
}

/** ISO 9797-1 MAC algorithm 3 over already padded data (8-byte blocks), full 8-byte result. */
export function retailMacPadded(key16: Uint8Array, padded: Uint8Array, iv?: Uint8Array): Buffer {
  if (padded.length === 0 || padded.length % 8 !== 0) throw new RangeError('data must be whole 8-byte blocks');
  const k1 = key16.subarray(0, 8);
  const k2 = key16.subarray(8, 16);
  let chain = ivFor('3des', iv);
  for (let off = 0; off < padded.length; off += 8) {
    xorInto(chain, padded.subarray(off, off + 8));
    chain = desEncrypt(k1, chain);
  }
  return desEncrypt(k1, desDecrypt(k2, chain));
}

/** ISO 9797-1 MAC algorithm 1 (CBC-MAC) over already padded data, full block result. */
export function cbcMacPadded(alg: CardAlgorithm, key16: Uint8Array, padded: Uint8Array, iv?: Uint8Array): Buffer {
  const size = blockSize(alg);
  if (padded.length === 0 || padded.length % size !== 0) throw new RangeError(`data must be whole ${size}-byte blocks`);
  let chain = ivFor(alg, iv);
  for (let off = 0; off < padded.length; off += size) {
    xorInto(chain, padded.subarray(off, off + size));
    chain = encryptEcb(alg, key16, chain);
  }
  return chain;
}

/**
 * The card's MAC: method-2 padding, then algorithm 3 for 3DES keys or algorithm 1 for SM4 keys; leftmost
 * `length` bytes (4 on the card).
 */
export function cardMac(alg: CardAlgorithm, key16: Uint8Array, data: Uint8Array, iv?: Uint8Array, length = 4): Buffer {
  const padded = padMethod2(data, blockSize(alg));
  const full = alg === '3des' ? retailMacPadded(key16, padded, iv) : cbcMacPadded(alg, key16, padded, iv);
  return full.subarray(0, length);
}

/** The IV of a secure-messaging command: the card's challenge, zero-filled to one block (spec §6.3). */
export function challengeIv(alg: CardAlgorithm, challenge: Uint8Array): Buffer {
  const iv = Buffer.alloc(blockSize(alg));
  iv.set(challenge.subarray(0, iv.length), 0);
  return iv;
}

/** Constant-time compare for MACs and cryptograms. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** Zero-fills to whole blocks (at least one): challenges for EXTERNAL / INTERNAL AUTHENTICATE (spec §6.2). */
export function zeroPad(data: Uint8Array, size: number): Buffer {
  const out = Buffer.alloc(Math.max(size, Math.ceil(data.length / size) * size));
  out.set(data, 0);
  return out;
}
