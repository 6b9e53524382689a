/** Hex <-> bytes for card images and reader data. Output is upper case, input is case-insensitive. */

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex').toUpperCase();
}

export function isHex(text: string, bytes?: number): boolean {
  if (typeof text !== 'string' || text.length % 2 !== 0 || !/^[0-9A-Fa-f]*$/.test(text)) return false;
  return bytes === undefined || text.length === bytes * 2;
}

/** Throws a plain Error (callers wrap it in their own MeterHubError); the text never echoes the input. */
export function fromHex(text: string, bytes?: number): Uint8Array {
  if (!isHex(text, bytes)) {
    throw new Error(bytes === undefined ? 'expected an even number of hex digits' : `expected ${bytes * 2} hex digits`);
  }
  return new Uint8Array(Buffer.from(text, 'hex'));
}

export function popcount8(b: number): number {
  let n = 0;
  for (let v = b & 0xff; v; v &= v - 1) n++;
  return n;
}

/** Byte at i of an array the caller has bounds-checked (noUncheckedIndexedAccess). */
export function at(a: Uint8Array, i: number): number {
  return a[i] ?? 0;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
