/**
 * Chip-accurate emulator of an Atmel AT88SC102 (card-domain.md §2): 1568 bits = 196 bytes, bit addresses
 * MSB-first (bit n = byte n>>3, mask 0x80 >> (n & 7)).
 *
 * Faithful on what the station relies on:
 * - Writes only clear bits (1 -> 0); erase sets a whole 16-bit word to 1s.
 * - Security code (SC) verification with the SCAC attempts counter: 4 attempts (bits 96-99 = high nibble
 *   of byte 12). Datasheet rev 1419C-6/08 says "maximum of four"; the older rev 1419B-11/99 says eight. We
 *   emulate 4. A correct code erases SCAC (attempts back to 4) and sets SV until power-off. SCAC high nibble
 *   0 (byte 12 = 0x0F, as MingHua.cs tests) = locked for good; free zones stay readable.
 * - AZ1 erase needs EZ1 (6 B), AZ2 erase needs EZ2 (4 B). With the EC2EN fuse intact (EC2 enabled) each AZ2
 *   erase-key presentation writes one of the 128 EC2 bits to 0; with none left AZ2 can never be erased again.
 * - Fuses: manufacturer fuse (blown at the factory: FZ frozen), EC2EN, issuer fuse. Blowing the issuer fuse
 *   moves the card to security level 2, which freezes IZ and MFZ (and, here, EZ1/EZ2).
 *
 * UNCONFIRMED behaviours (no datasheet table at hand; chosen to be conservative, see README):
 * - What a protected byte reads as before SV: we return MASKED_READ_BYTE (00), like the SLE4442 PSC.
 * - Whether failed EZ2 presentations also consume an EC2 bit: we consume one per presentation (the counter
 *   counts attempts), so a wrong EZ2 costs an erase.
 * - Whether the EZ compare itself needs SV, and whether level 1 allows AZ erase on SV alone: we always ask
 *   for SV and the erase key.
 * - AZ control bits: P (first bit of the zone) = 0 is taken as write-locked in level 2; R = 0 makes the zone
 *   readable only after SV in level 2. In level 1 AZ reads are free.
 * - EZ1/EZ2 readable only with SV in level 1, never in level 2. The reserved gaps read as written (FF).
 * - Direct writes to EC2 are refused (the chip manages the counter).
 */
import { randomBytes } from 'node:crypto';
import { at, fromHex, popcount8, toHex } from './hex.ts';

export const AT88SC102_SIZE = 196;
export const MASKED_READ_BYTE = 0x00;
export const AT88SC102_FACTORY_SC = 'F0F0';
export const AT88SC102_FACTORY_FZ = '0F0F';
export const SCAC_ATTEMPTS = 4;
export const EC2_ERASES = 128;

/** Byte ranges [start, end) of the zones (§2.1). */
export const ZONE = {
  FZ: [0, 2],
  IZ: [2, 10],
  SC: [10, 12],
  SCAC: [12, 14],
  CPZ: [14, 22],
  AZ1: [22, 86],
  EZ1: [86, 92],
  AZ2: [92, 156],
  EZ2: [156, 160],
  EC2: [160, 176],
  MTZ: [176, 178],
  MFZ: [178, 180],
  BLOCK: [180, 182],
  MANUFACTURER_FUSE: [182, 184],
  ISSUER_FUSE: [194, 196],
} as const satisfies Record<string, readonly [number, number]>;
export type ZoneName = keyof typeof ZONE;

/** EC2EN fuse = bit 1529 = byte 191, mask 0x40. */
const EC2EN_BYTE = 1529 >> 3;
const EC2EN_MASK = 0x80 >> (1529 & 7);
const SCAC_MASK = 0xf0;

export type Fuse = 'manufacturer' | 'ec2en' | 'issuer';
export type AppZone = 1 | 2;

export interface At88sc102Image {
  format: 'meterhub-card-image/1';
  chip: 'at88sc102';
  /** Emulator identity of this card. The AT88SC102 has no chip serial. */
  serial: string;
  /** All 196 bytes (392 hex), fuses included. Holds SC and erase keys: `redactImage` masks them. */
  memory: string;
}

export interface At88sc102FactoryOptions {
  serial?: string;
  sc?: string;
  ez1?: string;
  ez2?: string;
  fz?: string;
  iz?: string;
  mfz?: string;
  /** Default true (EC2EN fuse intact). */
  ec2Enabled?: boolean;
  /** Default false; true = issuer fuse blown = security level 2. */
  issued?: boolean;
}

export interface ScOutcome {
  ok: boolean;
  attemptsLeft: number;
}

export interface EraseKeyOutcome {
  ok: boolean;
  /** Why the chip refused: wrong key, EC2 exhausted, or no SV. */
  reason?: 'wrong-key' | 'ec2-exhausted' | 'not-verified';
  ec2Left: number;
}

export function zoneOf(addr: number): ZoneName | 'RESERVED' {
  for (const [name, [s, e]] of Object.entries(ZONE) as [ZoneName, readonly [number, number]][]) {
    if (addr >= s && addr < e) return name;
  }
  return 'RESERVED';
}

export class At88sc102 {
  readonly chip = 'at88sc102' as const;
  readonly serial: string;
  private readonly mem: Uint8Array;
  // Volatile.
  private sv = false;
  private readonly eraseOk: Record<AppZone, boolean> = { 1: false, 2: false };
  beforeWrite: (() => void) | undefined;
  writes = 0;

  private constructor(serial: string, mem: Uint8Array) {
    this.serial = serial;
    this.mem = mem;
  }

  static fromImage(image: At88sc102Image): At88sc102 {
    if (image.chip !== 'at88sc102') throw new Error('not an AT88SC102 image');
    return new At88sc102(image.serial, fromHex(image.memory, AT88SC102_SIZE));
  }

  /** A blank card: FZ 0F0F, SC F0F0, erase keys FF, EC2 full, manufacturer fuse blown, level 1. */
  static factory(o: At88sc102FactoryOptions = {}): At88sc102 {
    const mem = new Uint8Array(AT88SC102_SIZE).fill(0xff);
    const put = (zone: ZoneName, hex: string | undefined) => {
      if (hex === undefined) return;
      const [s, e] = ZONE[zone];
      mem.set(fromHex(hex, e - s), s);
    };
    put('FZ', o.fz ?? AT88SC102_FACTORY_FZ);
    put('IZ', o.iz);
    put('SC', o.sc ?? AT88SC102_FACTORY_SC);
    put('EZ1', o.ez1);
    put('EZ2', o.ez2);
    put('MFZ', o.mfz);
    put('MANUFACTURER_FUSE', '0000');
    if (o.ec2Enabled === false) mem[EC2EN_BYTE] = at(mem, EC2EN_BYTE) & ~EC2EN_MASK;
    if (o.issued) put('ISSUER_FUSE', '0000');
    return new At88sc102(o.serial ?? randomBytes(6).toString('hex').toUpperCase(), mem);
  }

  toImage(): At88sc102Image {
    return { format: 'meterhub-card-image/1', chip: 'at88sc102', serial: this.serial, memory: toHex(this.mem) };
  }

  // ---- state ---------------------------------------------------------------------------------------

  get verified(): boolean {
    return this.sv;
  }
  get scAttemptsLeft(): number {
    return popcount8(at(this.mem, ZONE.SCAC[0]) & SCAC_MASK);
  }
  get locked(): boolean {
    return this.scAttemptsLeft === 0;
  }
  get ec2Enabled(): boolean {
    return (at(this.mem, EC2EN_BYTE) & EC2EN_MASK) !== 0;
  }
  get ec2Left(): number {
    let n = 0;
    for (let i = ZONE.EC2[0]; i < ZONE.EC2[1]; i++) n += popcount8(at(this.mem, i));
    return n;
  }
  get securityLevel(): 1 | 2 {
    return this.fuseBlown('issuer') ? 2 : 1;
  }

  fuseBlown(f: Fuse): boolean {
    if (f === 'ec2en') return !this.ec2Enabled;
    const [s] = f === 'issuer' ? ZONE.ISSUER_FUSE : ZONE.MANUFACTURER_FUSE;
    return at(this.mem, s) === 0 && at(this.mem, s + 1) === 0;
  }

  powerOff(): void {
    this.sv = false;
    this.eraseOk[1] = false;
    this.eraseOk[2] = false;
  }

  // ---- access rules ---------------------------------------------------------------------------------

  private azControl(zone: AppZone): { p: boolean; r: boolean } {
    const b = at(this.mem, zone === 1 ? ZONE.AZ1[0] : ZONE.AZ2[0]);
    return { p: (b & 0x80) !== 0, r: (b & 0x40) !== 0 };
  }

  canRead(addr: number): boolean {
    const z = zoneOf(addr);
    const level2 = this.securityLevel === 2;
    switch (z) {
      case 'SC':
        return this.sv;
      case 'EZ1':
      case 'EZ2':
        return this.sv && !level2;
      case 'AZ1':
      case 'AZ2':
        return this.sv || !level2 || this.azControl(z === 'AZ1' ? 1 : 2).r;
      default:
        return true;
    }
  }

  private canWrite(addr: number): boolean {
    const z = zoneOf(addr);
    const level2 = this.securityLevel === 2;
    switch (z) {
      case 'MTZ':
      case 'SCAC':
        return true;
      case 'IZ':
      case 'MFZ':
      case 'EZ1':
      case 'EZ2':
        return this.sv && !level2;
      case 'SC':
      case 'CPZ':
        return this.sv;
      case 'AZ1':
      case 'AZ2':
        return this.sv && (!level2 || this.azControl(z === 'AZ1' ? 1 : 2).p);
      case 'BLOCK':
        return this.sv && !level2;
      default:
        return false; // FZ (manufacturer fuse), EC2 (chip-managed), fuses (blowFuse), reserved
    }
  }

  private canErase(addr: number): boolean {
    const z = zoneOf(addr);
    const level2 = this.securityLevel === 2;
    switch (z) {
      case 'MTZ':
        return true;
      case 'IZ':
      case 'MFZ':
      case 'EZ1':
      case 'EZ2':
      case 'BLOCK':
        return this.sv && !level2;
      case 'SC':
      case 'CPZ':
      case 'SCAC':
        return this.sv;
      case 'AZ1':
        return this.sv && this.eraseOk[1];
      case 'AZ2':
        return this.sv && this.eraseOk[2];
      default:
        return false;
    }
  }

  // ---- commands ---------------------------------------------------------------------------------------

  read(offset: number, length: number): Uint8Array {
    checkRange(offset, length);
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.canRead(offset + i) ? at(this.mem, offset + i) : MASKED_READ_BYTE;
    return out;
  }

  /** Clears the 0 bits of `value` in byte `addr` (bits already 0 stay 0). False = refused, nothing changed. */
  writeByte(addr: number, value: number): boolean {
    checkRange(addr, 1);
    if (!this.canWrite(addr)) return false;
    const next = at(this.mem, addr) & value & 0xff;
    if (next !== at(this.mem, addr)) {
      this.hook();
      this.mem[addr] = next;
    }
    return true;
  }

  /** Erases the 16-bit word containing `addr` to FF FF. */
  eraseWord(addr: number): boolean {
    checkRange(addr, 1);
    const w = addr & ~1;
    if (!this.canErase(w)) return false;
    this.hook();
    this.mem[w] = 0xff;
    this.mem[w + 1] = 0xff;
    return true;
  }

  /** The security-code check: write one SCAC bit to 0, compare, erase SCAC if the code matched. */
  verifySc(sc: Uint8Array): ScOutcome {
    if (sc.length !== 2) throw new Error('SC is 2 bytes');
    const s = ZONE.SCAC[0];
    const scac = at(this.mem, s) & SCAC_MASK;
    if (scac === 0) return { ok: false, attemptsLeft: 0 };
    const bit = 0x80 >> (Math.clz32(scac) - 24); // the highest 1 bit of the nibble
    this.hook();
    this.mem[s] = at(this.mem, s) & ~bit;
    const match = at(this.mem, ZONE.SC[0]) === at(sc, 0) && at(this.mem, ZONE.SC[0] + 1) === at(sc, 1);
    if (match) {
      this.sv = true;
      this.eraseWord(s);
    }
    return { ok: match, attemptsLeft: this.scAttemptsLeft };
  }

  /** wsc_102: erase the SC word and write the new code (needs SV). */
  changeSc(sc: Uint8Array): boolean {
    if (sc.length !== 2) throw new Error('SC is 2 bytes');
    if (!this.eraseWord(ZONE.SC[0])) return false;
    return this.writeByte(ZONE.SC[0], at(sc, 0)) && this.writeByte(ZONE.SC[0] + 1, at(sc, 1));
  }

  /** cesc_102: presents EZ1 (6 B) or EZ2 (4 B); a match allows erasing that zone until power-off. */
  presentEraseKey(zone: AppZone, key: Uint8Array): EraseKeyOutcome {
    const [s, e] = zone === 1 ? ZONE.EZ1 : ZONE.EZ2;
    if (key.length !== e - s) throw new Error(`EZ${zone} is ${e - s} bytes`);
    this.eraseOk[zone] = false;
    if (!this.sv) return { ok: false, reason: 'not-verified', ec2Left: this.ec2Left };
    if (zone === 2 && this.ec2Enabled) {
      let i: number = ZONE.EC2[0];
      while (i < ZONE.EC2[1] && at(this.mem, i) === 0) i++;
      if (i === ZONE.EC2[1]) return { ok: false, reason: 'ec2-exhausted', ec2Left: 0 };
      const b = at(this.mem, i);
      this.hook();
      this.mem[i] = b & ~(0x80 >> (Math.clz32(b) - 24));
    }
    for (let i = 0; i < key.length; i++) {
      if (at(this.mem, s + i) !== at(key, i)) return { ok: false, reason: 'wrong-key', ec2Left: this.ec2Left };
    }
    this.eraseOk[zone] = true;
    return { ok: true, ec2Left: this.ec2Left };
  }

  /** Erases a whole application zone (needs a presented erase key). */
  eraseZone(zone: AppZone): boolean {
    const [s, e] = zone === 1 ? ZONE.AZ1 : ZONE.AZ2;
    if (!this.canErase(s)) return false;
    for (let a = s; a < e; a += 2) this.eraseWord(a);
    return true;
  }

  /** Fuses are OTP. EC2EN can only be blown before the issuer fuse (Mooltipass note). */
  blowFuse(f: Fuse): boolean {
    if (!this.sv && f !== 'manufacturer') return false;
    if (this.fuseBlown(f)) return true;
    if (f === 'ec2en' && this.securityLevel === 2) return false;
    this.hook();
    if (f === 'ec2en') this.mem[EC2EN_BYTE] = at(this.mem, EC2EN_BYTE) & ~EC2EN_MASK;
    else {
      const [s] = f === 'issuer' ? ZONE.ISSUER_FUSE : ZONE.MANUFACTURER_FUSE;
      this.mem[s] = 0;
      this.mem[s + 1] = 0;
    }
    return true;
  }

  private hook(): void {
    this.beforeWrite?.();
    this.writes++;
  }
}

function checkRange(offset: number, length: number): void {
  if (
    !Number.isInteger(offset) ||
    !Number.isInteger(length) ||
    offset < 0 ||
    length < 1 ||
    offset + length > AT88SC102_SIZE
  ) {
    throw new RangeError(`address range ${offset}+${length} outside 0..${AT88SC102_SIZE - 1}`);
  }
}
