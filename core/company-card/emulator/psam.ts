/**
 * A security module holding the company's master keys, with the PSAM command set of spec §8: the counter's
 * PSAM and the meter's ESAM are the same design with different rights. Master keys never leave it; it derives a
 * card's key inside (80 1A), then encrypts or MACs with it (80 FA), or exports a card key encrypted for WRITE
 * KEY (80 1C). What each role may do is the point of the design:
 * - counter: everything personalisation, sale, refund, reissue and format need; it may VERIFY a meter's
 *   write-back MAC but never compute one, so a counter cannot forge meter data;
 * - meter: authenticate a card and write back; it may VERIFY a purchase MAC but never compute one, so a meter
 *   broken open cannot mint gas.
 */
import { type CardAlgorithm, blockSize, encryptEcb } from '../crypto/block-cipher.ts';
import { cardMac, padMethod2, sameBytes } from '../crypto/mac.ts';
import {
  type KeyKind,
  type MasterKeySet,
  AUTH_KEY_TRIES,
  KIND_BY_CODE,
  cardKeyId,
  deriveCardKey,
  usageOf,
} from '../keys.ts';
import { ALGORITHM_CODE } from '../crypto/block-cipher.ts';
import { SW, withSw } from '../apdu.ts';
import { decodeBcdNumber } from '../card-numbers.ts';

export const PSAM_AID = Buffer.from('F04741535053414D', 'hex'); // F0 'GASPSAM'

export type PsamRole = 'counter' | 'meter';

/** PSAM P1 of 80 FA. */
export const PSAM_OP = { encrypt: 0x00, mac: 0x05, verifyMac: 0x06 } as const;

const ENCRYPT_KINDS: Record<PsamRole, readonly KeyKind[]> = {
  counter: ['transport', 'cardMaster', 'maintenance', 'externalAuth', 'internalAuth'],
  meter: ['externalAuth', 'internalAuth'],
};
const MAC_KINDS: Record<PsamRole, readonly KeyKind[]> = {
  counter: ['purchaseMac', 'lineProtection', 'cardMaster', 'maintenance', 'transport'],
  meter: ['writeBackMac', 'lineProtection'],
};
const VERIFY_KINDS: Record<PsamRole, readonly KeyKind[]> = {
  counter: ['purchaseMac', 'writeBackMac'],
  meter: ['purchaseMac'],
};
const KEY_MANAGEMENT_KINDS: readonly KeyKind[] = ['transport', 'cardMaster', 'maintenance'];

export interface PsamOptions {
  role: PsamRole;
  /** Master key sets by version; the transport key (kind 'transport') may sit in any set. */
  keySets: MasterKeySet[];
  protocol?: 'T0' | 'T1';
  /** The PSAM's own number (terminal id), in its ATR. */
  psamNo?: string;
}

interface Session {
  kind: KeyKind;
  version: number;
  algorithm: CardAlgorithm;
  key: Buffer;
  cardNo: string;
  serial: string;
}

export class PsamEmulator {
  readonly role: PsamRole;
  readonly protocol: 'T0' | 'T1';
  private readonly sets: Map<number, MasterKeySet>;
  private readonly psamNo: string;
  private selected = false;
  private session: Session | null = null;
  private pending: Buffer | null = null;
  private present = true;
  /** Commands seen, for tests that count APDUs. */
  readonly log: Buffer[] = [];

  constructor(opts: PsamOptions) {
    this.role = opts.role;
    this.protocol = opts.protocol ?? 'T0';
    this.sets = new Map(opts.keySets.map((s) => [s.version, s]));
    this.psamNo = opts.psamNo ?? '000000000001';
  }

  get atr(): Buffer {
    return Buffer.concat([
      Buffer.from('3B6800004753', 'hex'),
      Buffer.from(this.psamNo.padStart(12, '0').slice(-12), 'hex'),
    ]);
  }

  get isPresent(): boolean {
    return this.present;
  }

  reset(): Buffer {
    this.present = true;
    this.selected = false;
    this.session = null;
    this.pending = null;
    return this.atr;
  }

  remove(): void {
    this.present = false;
    this.session = null;
  }

  /** Versions it holds, for the counter's key status page. */
  keyVersions(): number[] {
    return [...this.sets.keys()].sort((a, b) => a - b);
  }

  transmit(apdu: Uint8Array): Buffer {
    if (!this.present) throw new Error('PSAM removed');
    const cmd = Buffer.from(apdu);
    this.log.push(cmd);
    const [cla, ins, p1, p2] = [cmd[0] ?? 0, cmd[1] ?? 0, cmd[2] ?? 0, cmd[3] ?? 0];
    const lc = cmd.length > 5 ? (cmd[4] ?? 0) : 0;
    const data = cmd.subarray(5, 5 + lc);
    if (ins !== 0xc0) this.pending = null;
    if (cla === 0x00 && ins === 0xa4) {
      this.selected = p1 === 0x04 && data.equals(PSAM_AID);
      return sw(this.selected ? SW.OK : SW.FILE_NOT_FOUND);
    }
    if (cla === 0x00 && ins === 0xc0) {
      const p = this.pending;
      this.pending = null;
      return p ? withSw(p, SW.OK) : sw(SW.CONDITIONS_NOT_SATISFIED);
    }
    if (cla !== 0x80) return sw(SW.CLA_NOT_SUPPORTED);
    if (!this.selected) return sw(SW.CONDITIONS_NOT_SATISFIED);
    switch (ins) {
      case 0x1a:
        return this.initSession(p1, p2, data);
      case 0xfa:
        return this.crypt(p1, data);
      case 0x1c:
        return this.exportKey(p1, p2, data);
      default:
        return sw(SW.INS_NOT_SUPPORTED);
    }
  }

  private answer(data: Buffer): Buffer {
    if (this.protocol === 'T1') return withSw(data, SW.OK);
    this.pending = data;
    return sw(0x6100 | data.length);
  }

  /** 80 1A kind version 10 <card no. BCD 8><serial 8>: derive the card's key of `kind` as the session key. */
  private initSession(code: number, version: number, data: Buffer): Buffer {
    this.session = null;
    const kind = KIND_BY_CODE.get(code);
    if (!kind) return sw(SW.WRONG_P1P2);
    if (data.length !== 16) return sw(SW.WRONG_LENGTH);
    const set = this.sets.get(version);
    const cardNo = decodeBcdNumber(data.subarray(0, 8));
    if (!cardNo) return sw(SW.WRONG_DATA);
    const serial = data.subarray(8, 16).toString('hex').toUpperCase();
    const key = set ? deriveCardKey(set, kind, cardNo, serial) : null;
    if (!set || !key) return sw(SW.KEY_NOT_FOUND);
    this.session = { kind, version, algorithm: set.algorithm, key, cardNo, serial };
    return sw(SW.OK);
  }

  /** 80 FA op 00 data: 00 encrypt whole blocks; 05 MAC (data = IV | message); 06 verify (IV | message | MAC4). */
  private crypt(op: number, data: Buffer): Buffer {
    const s = this.session;
    if (!s) return sw(SW.CONDITIONS_NOT_SATISFIED);
    const size = blockSize(s.algorithm);
    if (op === PSAM_OP.encrypt) {
      if (!ENCRYPT_KINDS[this.role].includes(s.kind)) return sw(SW.SECURITY_NOT_SATISFIED);
      if (data.length === 0 || data.length % size !== 0) return sw(SW.WRONG_LENGTH);
      return this.answer(encryptEcb(s.algorithm, s.key, data));
    }
    if (op === PSAM_OP.mac) {
      if (!MAC_KINDS[this.role].includes(s.kind)) return sw(SW.SECURITY_NOT_SATISFIED);
      if (data.length < size) return sw(SW.WRONG_LENGTH);
      return this.answer(cardMac(s.algorithm, s.key, data.subarray(size), data.subarray(0, size)));
    }
    if (op === PSAM_OP.verifyMac) {
      if (!VERIFY_KINDS[this.role].includes(s.kind)) return sw(SW.SECURITY_NOT_SATISFIED);
      if (data.length < size + 4) return sw(SW.WRONG_LENGTH);
      const mac = cardMac(s.algorithm, s.key, data.subarray(size, data.length - 4), data.subarray(0, size));
      return sw(sameBytes(mac, data.subarray(data.length - 4)) ? SW.OK : SW.SM_MAC_WRONG);
    }
    return sw(SW.WRONG_P1P2);
  }

  /**
   * 80 1C kind version <card no. BCD 8><WRITE KEY header 5><card challenge 4>: the WRITE KEY data for the card's
   * key of `kind` and `version`, encrypted and MACed under the session key (the card's key management key).
   * The card number is given here because the session key may be the transport key, derived before the card
   * had a number. Counter only.
   */
  private exportKey(code: number, version: number, data: Buffer): Buffer {
    const s = this.session;
    if (this.role !== 'counter') return sw(SW.SECURITY_NOT_SATISFIED);
    if (!s || !KEY_MANAGEMENT_KINDS.includes(s.kind)) return sw(SW.CONDITIONS_NOT_SATISFIED);
    const kind = KIND_BY_CODE.get(code);
    if (!kind || kind === 'purchaseMac' || kind === 'writeBackMac') return sw(SW.WRONG_P1P2);
    if (data.length !== 17) return sw(SW.WRONG_LENGTH);
    const cardNo = decodeBcdNumber(data.subarray(0, 8));
    const set = this.sets.get(version);
    const key = set && cardNo ? deriveCardKey(set, kind, cardNo, s.serial) : null;
    if (!set || !key) return sw(SW.KEY_NOT_FOUND);
    const tries = kind === 'lineProtection' || kind === 'internalAuth' ? 0 : AUTH_KEY_TRIES;
    const record = Buffer.concat([
      Buffer.of(cardKeyId(kind), usageOf(kind), version, ALGORITHM_CODE[set.algorithm], tries),
      key,
    ]);
    const enc = encryptEcb(s.algorithm, s.key, padMethod2(record, blockSize(s.algorithm)));
    const header = data.subarray(8, 13);
    const iv = Buffer.alloc(blockSize(s.algorithm));
    data.subarray(13, 17).copy(iv);
    const mac = cardMac(s.algorithm, s.key, Buffer.concat([header, enc]), iv);
    return this.answer(Buffer.concat([enc, mac]));
  }
}

function sw(code: number): Buffer {
  return Buffer.of(code >> 8, code & 0xff);
}
