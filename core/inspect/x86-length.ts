/**
 * Length of one x86 / x86-64 instruction, enough to walk a function linearly to its `ret` without
 * executing anything. Covers the general-purpose, x87 and SSE encodings compilers emit for plain C and
 * Delphi code; anything else (VEX/EVEX, 16-bit addressing, far pointers) answers null, and the caller then
 * says "unknown" rather than guess. Tables: Intel SDM vol. 2, appendix A (opcode map).
 */

export interface Decoded {
  length: number;
  /** First opcode byte after prefixes (0x0f for two-byte opcodes). */
  op: number;
  /** Second opcode byte for 0x0f opcodes. */
  op2?: number;
  /** rel8/rel32 displacement of a jmp/jcc/call, when it has one. */
  rel?: number;
  /** imm16 of `ret N`. */
  imm16?: number;
  /** ModRM byte, when present. */
  modrm?: number;
  /** disp32 of a ModRM memory operand with no base (32-bit) or RIP-relative (64-bit). */
  disp32?: number;
}

const PREFIXES = new Set([0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]);

/** One-byte opcodes with a ModRM byte. */
function hasModrm1(op: number): boolean {
  if (op < 0x40) return (op & 7) < 4;
  return (
    (op >= 0x62 && op <= 0x63) ||
    op === 0x69 ||
    op === 0x6b ||
    (op >= 0x80 && op <= 0x8f) ||
    op === 0xc0 ||
    op === 0xc1 ||
    (op >= 0xc4 && op <= 0xc7) ||
    (op >= 0xd0 && op <= 0xd3) ||
    (op >= 0xd8 && op <= 0xdf) ||
    op === 0xf6 ||
    op === 0xf7 ||
    op === 0xfe ||
    op === 0xff
  );
}

/** Two-byte (0F xx) opcodes without a ModRM byte. */
const NO_MODRM_0F = new Set([
  0x05, 0x06, 0x07, 0x08, 0x09, 0x0b, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x77, 0xa0, 0xa1, 0xa2, 0xa8, 0xa9, 0xaa,
  0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf,
]);
const IMM8_0F = new Set([0x70, 0x71, 0x72, 0x73, 0xa4, 0xac, 0xba, 0xc2, 0xc4, 0xc5, 0xc6]);

export function decodeLength(code: Buffer, at: number, is64: boolean): Decoded | null {
  let p = at;
  let opsize16 = false;
  let rexW = false;
  const byte = (): number | null => (p < code.length ? code[p++]! : null);
  let b = byte();
  for (let n = 0; b !== null && PREFIXES.has(b) && n < 14; n++) {
    if (b === 0x66) opsize16 = true;
    if (b === 0x67) return null; // 16-bit addressing in 32-bit code: not emitted by these compilers
    b = byte();
  }
  if (b === null) return null;
  if (is64 && b >= 0x40 && b <= 0x4f) {
    rexW = (b & 8) !== 0;
    b = byte();
    if (b === null) return null;
  }
  const op = b;
  const out: Decoded = { length: 0, op };
  const immV = opsize16 ? 2 : 4;
  let modrm = false;
  let imm = 0;

  const readModrm = (): boolean => {
    const m = byte();
    if (m === null) return false;
    out.modrm = m;
    const mod = m >> 6;
    const rm = m & 7;
    if (mod === 3) return true;
    if (rm === 4) {
      const sib = byte();
      if (sib === null) return false;
      if (mod === 0 && (sib & 7) === 5) p += 4;
    } else if (mod === 0 && rm === 5) {
      if (p + 4 > code.length) return false;
      out.disp32 = code.readInt32LE(p);
      p += 4;
    }
    if (mod === 1) p += 1;
    if (mod === 2) p += 4;
    return true;
  };

  if (op === 0x0f) {
    const op2 = byte();
    if (op2 === null) return null;
    out.op2 = op2;
    if (op2 === 0x38) {
      if (byte() === null) return null;
      modrm = true;
    } else if (op2 === 0x3a) {
      if (byte() === null) return null;
      modrm = true;
      imm = 1;
    } else if (op2 >= 0x80 && op2 <= 0x8f) {
      if (p + 4 > code.length) return null;
      out.rel = code.readInt32LE(p);
      p += 4;
    } else {
      modrm = !NO_MODRM_0F.has(op2);
      if (IMM8_0F.has(op2)) imm = 1;
    }
  } else {
    if (!is64 && (op === 0x9a || op === 0xea)) return null; // far pointer
    if (is64 && (op === 0xc4 || op === 0xc5)) return null; // VEX
    modrm = hasModrm1(op);
    if (op < 0x40 && (op & 7) === 4) imm = 1;
    else if (op < 0x40 && (op & 7) === 5) imm = immV;
    else if (op === 0x68 || op === 0x69 || op === 0x81 || op === 0xc7 || op === 0xa9) imm = immV;
    else if (
      op === 0x6a ||
      op === 0x6b ||
      op === 0x80 ||
      op === 0x82 ||
      op === 0x83 ||
      op === 0xc0 ||
      op === 0xc1 ||
      op === 0xc6 ||
      op === 0xa8 ||
      op === 0xcd ||
      op === 0xd4 ||
      op === 0xd5 ||
      (op >= 0xe4 && op <= 0xe7) ||
      (op >= 0xb0 && op <= 0xb7)
    )
      imm = 1;
    else if (op >= 0xb8 && op <= 0xbf) imm = rexW ? 8 : immV;
    else if (op >= 0xa0 && op <= 0xa3) imm = is64 ? 8 : 4;
    else if (op === 0xc2 || op === 0xca) imm = 2;
    else if (op === 0xc8) imm = 3;
  }
  if (modrm && !readModrm()) return null;
  if (op === 0xf6 && out.modrm !== undefined && ((out.modrm >> 3) & 7) < 2) imm = 1;
  if (op === 0xf7 && out.modrm !== undefined && ((out.modrm >> 3) & 7) < 2) imm = immV;
  if ((op >= 0x70 && op <= 0x7f) || op === 0xeb || (op >= 0xe0 && op <= 0xe3)) {
    if (p + 1 > code.length) return null;
    out.rel = code.readInt8(p);
    p += 1;
  } else if (op === 0xe8 || op === 0xe9) {
    if (p + 4 > code.length) return null;
    out.rel = code.readInt32LE(p);
    p += 4;
  }
  if (op === 0xc2) {
    if (p + 2 > code.length) return null;
    out.imm16 = code.readUInt16LE(p);
  }
  p += imm;
  if (p > code.length) return null;
  out.length = p - at;
  return out;
}
