/**
 * Block ciphers of the company CPU card: SM4 (GM/T 0002-2012, 16-byte blocks and keys) and double-length
 * 3DES (EDE with K1|K2|K1, 8-byte blocks, 16-byte keys), one raw block operation each, from Node's OpenSSL.
 *
 * Why OpenSSL and not our own code: it is constant-time and reviewed; we only add the card's conventions on
 * top (padding, MAC, diversification). Single DES, which ISO 9797-1 algorithm 3 needs for its inner chain, is
 * not offered by OpenSSL 3 without the legacy provider, so it is run as EDE with K|K (= single DES).
 */
import { createCipheriv, createDecipheriv, getCiphers } from 'node:crypto';
import { CompanyCardCryptoUnavailable, CompanyCardBadKey } from '../company-card-errors.ts';

export type CardAlgorithm = '3des' | 'sm4';

/** On-card algorithm codes (card information file, key records). */
export const ALGORITHM_CODE: Record<CardAlgorithm, number> = { '3des': 0x01, sm4: 0x02 };

export function algorithmFromCode(code: number): CardAlgorithm | null {
  if (code === 0x01) return '3des';
  if (code === 0x02) return 'sm4';
  return null;
}

export function blockSize(alg: CardAlgorithm): 8 | 16 {
  return alg === 'sm4' ? 16 : 8;
}

const ECB_NAME = { sm4: 'sm4-ecb', '3des': 'des-ede-ecb', des: 'des-ede-ecb' } as const;

let available: Set<string> | null = null;
function requireCipher(name: string): void {
  available ??= new Set(getCiphers());
  if (!available.has(name)) throw CompanyCardCryptoUnavailable({ cipher: name });
}

/** All card keys are 16 bytes: SM4 keys, and 3DES as K1|K2 (K3 = K1). */
function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== 16) throw CompanyCardBadKey({ length: key?.length ?? null });
}

function ecb(name: string, key: Uint8Array, data: Uint8Array, encrypt: boolean): Buffer {
  requireCipher(name);
  const c = encrypt ? createCipheriv(name, key, null) : createDecipheriv(name, key, null);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}

function checkBlocks(data: Uint8Array, size: number): void {
  if (data.length === 0 || data.length % size !== 0) {
    throw new RangeError(`data must be a non-empty multiple of ${size} bytes`);
  }
}

/** ECB over whole blocks (no padding: callers pad by the card's rules first). */
export function encryptEcb(alg: CardAlgorithm, key: Uint8Array, data: Uint8Array): Buffer {
  checkKey(key);
  checkBlocks(data, blockSize(alg));
  return ecb(ECB_NAME[alg], key, data, true);
}

export function decryptEcb(alg: CardAlgorithm, key: Uint8Array, data: Uint8Array): Buffer {
  checkKey(key);
  checkBlocks(data, blockSize(alg));
  return ecb(ECB_NAME[alg], key, data, false);
}

/** Single DES with an 8-byte key (only for the inner CBC chain of the retail MAC). */
export function desEncrypt(key8: Uint8Array, block: Uint8Array): Buffer {
  return ecb(ECB_NAME.des, Buffer.concat([key8, key8]), block, true);
}

export function desDecrypt(key8: Uint8Array, block: Uint8Array): Buffer {
  return ecb(ECB_NAME.des, Buffer.concat([key8, key8]), block, false);
}

export function xorInto(target: Uint8Array, other: Uint8Array): void {
  for (let i = 0; i < target.length; i++) target[i] = (target[i] ?? 0) ^ (other[i] ?? 0);
}

/** True when this Node's OpenSSL offers what the card needs (SM4 may be missing on some OpenSSL builds). */
export function cryptoSupport(): Record<CardAlgorithm, boolean> {
  available ??= new Set(getCiphers());
  return { sm4: available.has('sm4-ecb'), '3des': available.has('des-ede-ecb') };
}
