/**
 * Chip-accurate emulator of an SLE4442 memory card (card-domain.md §1), command by command.
 *
 * - Main memory 256 B. The chip's only main-memory write is UPDATE (0x38) = erase (bits to 1) then write
 *   (bits to 0), so a byte ends up exactly as sent. Every write/erase needs a verified PSC; without one the
 *   chip silently does nothing, exactly like the real card (there is no status line on a memory card).
 * - Protection memory: 32 OTP bits for bytes 0-31, 1 = writable, 0 = write-protected forever. A bit is
 *   programmed by WRITE PROTECTION (0x3C) only if the data sent equals the byte stored.
 * - Security memory: EC (bits 0-2, starts 0b111) + 3-byte PSC. Verification is the mandatory datasheet
 *   sequence (§1.3): clear one EC bit, compare the three PSC bytes, erase EC (only possible if all three
 *   compares matched). EC = 0 means locked forever: no compares, no writes, but reads still work.
 *   A successful verification lasts until power-off (`powerOff`).
 * - Before verification, READ SECURITY MEMORY gives the PSC bytes as 00 ([single source] in §1.3).
 */
import { createHash, randomBytes } from 'node:crypto';
import { at, fromHex, toHex } from './hex.ts';

export const SLE4442_SIZE = 256;
export const SLE4442_PROTECTED_AREA = 32;
/** Factory header seen on Mingwah-sold cards (§1.1); only a default, fixtures set their own. */
export const SLE4442_FACTORY_HEADER = 'A2131091460B8115';
export const SLE4442_FACTORY_PSC = 'FFFFFF';
/** Bytes 0x15-0x1A, where card sellers put a per-card code (§1.1); the emulator stores its serial there. */
export const SLE4442_UNIQUE_CODE = { offset: 0x15, length: 6 } as const;

/** Thrown by a write hook to abort the write in progress (the sim uses it for "card pulled"). */
export type WriteHook = () => void;

export interface Sle4442Image {
  format: 'meterhub-card-image/1';
  chip: 'sle4442';
  /** Emulator identity of this card (file names, logs). Not a chip feature: the SLE4442 has no serial. */
  serial: string;
  /** 256 bytes, 512 hex. */
  main: string;
  /** 4 bytes (8 hex) as READ PROTECTION returns them: byte k bit j = main byte 8k+j, 1 = writable. */
  protection: string;
  /** EC bits 0-2 (0..7); 0 = locked. */
  errorCounter: number;
  /** PSC, 6 hex. A simulated card's password: never log it; `redactImage` masks it for display. */
  psc: string;
}

export interface Sle4442FactoryOptions {
  serial?: string;
  /** Hex for bytes from 0 onwards (up to 32 bytes); default SLE4442_FACTORY_HEADER + the unique code. */
  header?: string;
  /** 8 hex, see Sle4442Image.protection; default: bytes 0-7 protected. */
  protection?: string;
  psc?: string;
  errorCounter?: number;
}

export interface VerifyOutcome {
  ok: boolean;
  /** EC after the attempt (0..7). */
  errorCounter: number;
  /** Set bits left in EC = compares still possible. */
  attemptsLeft: number;
}

export class Sle4442 {
  readonly chip = 'sle4442' as const;
  readonly serial: string;
  private readonly main: Uint8Array;
  /** One entry per byte 0-31, 1 = writable. */
  private readonly prot: Uint8Array;
  private ec: number;
  private readonly psc: Uint8Array;
  // Volatile (lost at power-off).
  private unlocked = false;
  private attempt: { next: number; ok: boolean } | null = null;
  /** Called before each EEPROM write/erase; throwing aborts it with nothing changed. */
  beforeWrite: WriteHook | undefined;
  /** EEPROM write/erase operations performed (test introspection). */
  writes = 0;

  private constructor(image: Sle4442Image) {
    this.serial = image.serial;
    this.main = fromHex(image.main, SLE4442_SIZE);
    const p = fromHex(image.protection, 4);
    this.prot = new Uint8Array(SLE4442_PROTECTED_AREA);
    for (let i = 0; i < SLE4442_PROTECTED_AREA; i++) this.prot[i] = (at(p, i >> 3) >> (i & 7)) & 1;
    if (!Number.isInteger(image.errorCounter) || image.errorCounter < 0 || image.errorCounter > 7) {
      throw new Error('errorCounter must be 0..7');
    }
    this.ec = image.errorCounter;
    this.psc = fromHex(image.psc, 3);
  }

  static fromImage(image: Sle4442Image): Sle4442 {
    if (image.chip !== 'sle4442') throw new Error('not an SLE4442 image');
    return new Sle4442(image);
  }

  /** A blank card as shipped in the Chinese market: main memory FF after the header, PSC FFFFFF, EC 7. */
  static factory(o: Sle4442FactoryOptions = {}): Sle4442 {
    const serial = o.serial ?? randomBytes(6).toString('hex').toUpperCase();
    const main = new Uint8Array(SLE4442_SIZE).fill(0xff);
    main.set(fromHex(SLE4442_FACTORY_HEADER), 0);
    // The emulator's identity doubles as the seller's per-card code (bytes 0x15-0x1A).
    const code = /^[0-9A-Fa-f]{12}$/.test(serial)
      ? Buffer.from(serial, 'hex')
      : createHash('sha256').update(serial).digest();
    main.set(code.subarray(0, SLE4442_UNIQUE_CODE.length), SLE4442_UNIQUE_CODE.offset);
    if (o.header !== undefined) {
      const h = fromHex(o.header);
      if (h.length > SLE4442_PROTECTED_AREA) throw new Error('header covers at most bytes 0-31');
      main.set(h, 0);
    }
    return new Sle4442({
      format: 'meterhub-card-image/1',
      chip: 'sle4442',
      serial,
      main: toHex(main),
      protection: o.protection ?? '00FFFFFF',
      errorCounter: o.errorCounter ?? 7,
      psc: o.psc ?? SLE4442_FACTORY_PSC,
    });
  }

  toImage(): Sle4442Image {
    return {
      format: 'meterhub-card-image/1',
      chip: 'sle4442',
      serial: this.serial,
      main: toHex(this.main),
      protection: toHex(this.readProtection()),
      errorCounter: this.ec,
      psc: toHex(this.psc),
    };
  }

  // ---- state ------------------------------------------------------------------------------------

  get errorCounter(): number {
    return this.ec;
  }
  get attemptsLeft(): number {
    return bitCount3(this.ec);
  }
  get locked(): boolean {
    return this.ec === 0;
  }
  get verified(): boolean {
    return this.unlocked;
  }

  /** Power-off / reset: the verification is lost, an unfinished compare sequence too. */
  powerOff(): void {
    this.unlocked = false;
    this.attempt = null;
  }

  // ---- commands (§1.2) ---------------------------------------------------------------------------

  /** 0x30: reads never need the PSC, even on a locked card. */
  readMain(offset: number, length: number): Uint8Array {
    checkRange(offset, length, SLE4442_SIZE);
    return this.main.slice(offset, offset + length);
  }

  /** 0x38 UPDATE MAIN MEMORY. Returns whether the chip performed it (false = silently ignored). */
  updateMain(addr: number, value: number): boolean {
    checkRange(addr, 1, SLE4442_SIZE);
    if (!this.unlocked) return false;
    if (addr < SLE4442_PROTECTED_AREA && this.prot[addr] === 0) return false;
    this.hook();
    this.main[addr] = value & 0xff;
    return true;
  }

  /** 0x34: 4 bytes, bit j of byte k = byte 8k+j, 1 = writable. */
  readProtection(): Uint8Array {
    const out = new Uint8Array(4);
    for (let i = 0; i < SLE4442_PROTECTED_AREA; i++) if (this.prot[i]) out[i >> 3] = at(out, i >> 3) | (1 << (i & 7));
    return out;
  }

  /** 0x3C: protects byte `addr` (0-31) for good, but only if `value` equals what it holds. */
  writeProtection(addr: number, value: number): boolean {
    checkRange(addr, 1, SLE4442_PROTECTED_AREA);
    if (!this.unlocked) return false;
    if (at(this.main, addr) !== (value & 0xff)) return false;
    if (this.prot[addr] === 0) return true;
    this.hook();
    this.prot[addr] = 0;
    return true;
  }

  /** 0x31: EC then the PSC, which reads as 00 00 00 until verified. */
  readSecurity(): Uint8Array {
    const out = new Uint8Array(4);
    out[0] = this.ec;
    if (this.unlocked) out.set(this.psc, 1);
    return out;
  }

  /**
   * 0x39 UPDATE SECURITY MEMORY. Before verification only EC bits can be cleared (that starts a compare
   * sequence); after it, EC and the PSC can be rewritten freely. A locked card (EC = 0) ignores everything.
   */
  updateSecurity(addr: number, value: number): boolean {
    checkRange(addr, 1, 4);
    const v = value & 0xff;
    // Unlocked first: the last attempt clears the last EC bit and, if the PSC matched, may still erase it.
    if (this.unlocked) {
      this.hook();
      if (addr === 0) this.ec = v & 0x07;
      else this.psc[addr - 1] = v;
      return true;
    }
    if (addr !== 0 || this.ec === 0) return false;
    const next = this.ec & v & 0x07;
    if (next === this.ec) {
      // An erase (setting bits) is refused without a successful compare; writing nothing new is a no-op.
      this.attempt = null;
      return false;
    }
    this.hook();
    this.ec = next;
    this.attempt = { next: 1, ok: true };
    return true;
  }

  /** 0x33 COMPARE VERIFICATION DATA: only counts inside a sequence started by clearing an EC bit, in order 1,2,3. */
  compareVerification(addr: number, value: number): void {
    checkRange(addr, 1, 4);
    const a = this.attempt;
    if (!a) return;
    if (addr !== a.next) {
      this.attempt = null;
      return;
    }
    a.ok = a.ok && at(this.psc, addr - 1) === (value & 0xff);
    a.next++;
    if (a.next === 4) {
      this.attempt = null;
      if (a.ok) this.unlocked = true;
    }
  }

  // ---- sequences a reader performs ----------------------------------------------------------------

  /** The whole §1.3 sequence, as csc_4442 / PRESENT_CODE do it. Clears the lowest set EC bit. */
  verifyPsc(psc: Uint8Array): VerifyOutcome {
    if (psc.length !== 3) throw new Error('PSC is 3 bytes');
    const ec = this.readSecurity()[0] ?? 0;
    if (ec === 0) return { ok: false, errorCounter: 0, attemptsLeft: 0 };
    const lowest = ec & -ec;
    this.updateSecurity(0, ec & ~lowest);
    for (let i = 0; i < 3; i++) this.compareVerification(i + 1, at(psc, i));
    this.updateSecurity(0, 0xff);
    const after = this.readSecurity()[0] ?? 0;
    const ok = after === 0x07 && this.unlocked;
    return { ok, errorCounter: after, attemptsLeft: bitCount3(after) };
  }

  /** wsc_4442 / CHANGE_CODE: rewrite PSC bytes 1-3 (needs a verified card). */
  changePsc(psc: Uint8Array): boolean {
    if (psc.length !== 3) throw new Error('PSC is 3 bytes');
    if (!this.unlocked) return false;
    for (let i = 0; i < 3; i++) if (!this.updateSecurity(i + 1, at(psc, i))) return false;
    return true;
  }

  private hook(): void {
    this.beforeWrite?.();
    this.writes++;
  }
}

function bitCount3(v: number): number {
  return (v & 1) + ((v >> 1) & 1) + ((v >> 2) & 1);
}

function checkRange(offset: number, length: number, size: number): void {
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 1 || offset + length > size) {
    throw new RangeError(`address range ${offset}+${length} outside 0..${size - 1}`);
  }
}
