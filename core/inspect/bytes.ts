/**
 * Bounds-checked reads over an untrusted file. Every offset and count in a PE or ELF file is attacker-
 * or corruption-controlled, so nothing here trusts one: each read is checked against the buffer and
 * fails with INSPECT_BAD_FILE instead of throwing a RangeError or reading garbage.
 */
import { InspectBadFile } from './errors.ts';

export type Endianness = 'little' | 'big';

/** Longest symbol name we accept; real ones are far shorter, and it caps work on a missing NUL. */
export const MAX_NAME_LENGTH = 4096;

export function corrupt(en: string, zh: string, details?: Record<string, unknown>): Error {
  return InspectBadFile(details, { zh, en });
}

export class ByteReader {
  constructor(
    readonly buf: Buffer,
    readonly endian: Endianness = 'little',
  ) {}

  get size(): number {
    return this.buf.length;
  }

  /** True when [offset, offset+length) lies inside the file. */
  has(offset: number, length: number): boolean {
    return (
      Number.isSafeInteger(offset) &&
      Number.isSafeInteger(length) &&
      offset >= 0 &&
      length >= 0 &&
      offset + length <= this.buf.length
    );
  }

  need(offset: number, length: number, what: string): void {
    if (!this.has(offset, length)) {
      throw corrupt(
        `${what} lies outside the file (offset ${offset}, ${length} bytes, file ${this.buf.length} bytes)`,
        `${what} 超出文件范围（偏移 ${offset}，${length} 字节，文件 ${this.buf.length} 字节）`,
        { what, offset, length, fileSize: this.buf.length },
      );
    }
  }

  u8(offset: number, what = 'byte'): number {
    this.need(offset, 1, what);
    return this.buf.readUInt8(offset);
  }

  u16(offset: number, what = 'u16'): number {
    this.need(offset, 2, what);
    return this.endian === 'little' ? this.buf.readUInt16LE(offset) : this.buf.readUInt16BE(offset);
  }

  u32(offset: number, what = 'u32'): number {
    this.need(offset, 4, what);
    return this.endian === 'little' ? this.buf.readUInt32LE(offset) : this.buf.readUInt32BE(offset);
  }

  /**
   * 64-bit field as a number. Values beyond 2^53 cannot be a valid offset or size in a file we hold in
   * memory, so they are reported as corruption rather than silently rounded.
   */
  u64(offset: number, what = 'u64'): number {
    this.need(offset, 8, what);
    const v = this.endian === 'little' ? this.buf.readBigUInt64LE(offset) : this.buf.readBigUInt64BE(offset);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw corrupt(`${what} has an impossible value ${v}`, `${what} 的值不可能为 ${v}`, { what, offset });
    }
    return Number(v);
  }

  /** 64-bit value where precision does not matter (symbol addresses, shown but never used as offsets). */
  u64Lossy(offset: number, what = 'u64'): number {
    this.need(offset, 8, what);
    return Number(this.endian === 'little' ? this.buf.readBigUInt64LE(offset) : this.buf.readBigUInt64BE(offset));
  }

  /** u32 or u64 depending on the file class. */
  word(offset: number, is64: boolean, what = 'word'): number {
    return is64 ? this.u64(offset, what) : this.u32(offset, what);
  }

  /** NUL-terminated string; null when it runs off the file or past MAX_NAME_LENGTH. */
  cstring(offset: number, limit = this.buf.length): string | null {
    const end = Math.min(this.buf.length, limit, offset + MAX_NAME_LENGTH + 1);
    if (!Number.isSafeInteger(offset) || offset < 0 || offset >= end) return null;
    // Search only the window, so a file without NULs costs O(window), not O(file), per name.
    const nul = this.buf.subarray(offset, end).indexOf(0);
    if (nul < 0) return null;
    return this.buf.toString('latin1', offset, offset + nul);
  }
}
