/**
 * An emulator of the company CPU card's COS (spec §7), in the spirit of FMCOS: an MF with the card master key,
 * one DF per application, binary EFs with access conditions, a key file, GET CHALLENGE, EXTERNAL / INTERNAL
 * AUTHENTICATE, secure messaging (CLA 04/84, MAC with the card's challenge as IV), 61xx/GET RESPONSE under T=0.
 *
 * It is the reference the meter makers and card suppliers test against, and what the tests sell on. EEPROM
 * (files, keys, try counters) survives a power cycle; RAM (selection, security state, challenge) does not.
 * Two faults can be injected: a card pulled after a command has run (its answer is lost), and a card pulled
 * in the middle of an EEPROM write (a torn write: only the first bytes land).
 */
import { randomBytes } from 'node:crypto';
import { type CardAlgorithm, algorithmFromCode, blockSize, decryptEcb, encryptEcb } from '../crypto/block-cipher.ts';
import { cardMac, challengeIv, sameBytes, unpadMethod2, zeroPad } from '../crypto/mac.ts';
import { KEY_USAGE } from '../keys.ts';
import { SW, withSw } from '../apdu.ts';

/** Access condition byte (spec §7.2): 00 free, 1k after EXTERNAL AUTH with key k, 2k the same plus SM, FF never. */
export type Acl = number;
export const ACL_FREE = 0x00;
export const ACL_NEVER = 0xff;
export const aclAuth = (keyId: number): Acl => 0x10 | keyId;
export const aclAuthSm = (keyId: number): Acl => 0x20 | keyId;

export const FILE_TYPE = { df: 0x38, binary: 0x28, keyFile: 0x3f } as const;

interface CardKey {
  id: number;
  usage: number;
  version: number;
  algorithm: CardAlgorithm;
  maxTries: number;
  triesLeft: number;
  value: Buffer;
}

interface Ef {
  fid: number;
  sfi: number;
  type: number;
  readAcl: Acl;
  writeAcl: Acl;
  data: Buffer;
}

interface Df {
  fid: number;
  aid: Buffer | null;
  keys: Map<number, CardKey>;
  hasKeyFile: boolean;
  efs: Map<number, Ef>;
}

export interface CompanyCosOptions {
  /** 8-byte chip serial, 16 hex digits; it is in the ATR's historical bytes. */
  serial: string;
  /** The supplier's transport key (already diversified for this chip), loaded as MF key 00. */
  transportKey: Uint8Array;
  algorithm: CardAlgorithm;
  protocol?: 'T0' | 'T1';
  /** Source of GET CHALLENGE bytes; fixed only by tests that replay the spec's published vectors. */
  random?: (length: number) => Buffer;
}

/** Line protection (SM) key id in a DF, and the key management key ids. */
const LINE_KEY_ID = 0x06;
const MAINTENANCE_KEY_ID = 0x01;

export class CompanyCos {
  readonly serial: string;
  readonly protocol: 'T0' | 'T1';
  random: (length: number) => Buffer;
  private readonly mf: Df;
  private readonly dfs = new Map<number, Df>();
  // RAM
  private current: Df;
  private mfAuth = new Set<number>();
  private dfAuth = new Set<number>();
  private challenge: Buffer | null = null;
  private pending: Buffer | null = null;
  // faults
  private tearAt: number | null = null;
  private removeAfterCommands: number | null = null;
  private present = true;
  /** Every command the card received (for tests that count or replay APDUs). */
  readonly log: Buffer[] = [];

  constructor(opts: CompanyCosOptions) {
    this.serial = opts.serial.toUpperCase();
    this.protocol = opts.protocol ?? 'T0';
    this.random = opts.random ?? randomBytes;
    this.mf = { fid: 0x3f00, aid: null, keys: new Map(), hasKeyFile: true, efs: new Map() };
    this.mf.keys.set(0x00, {
      id: 0x00,
      usage: KEY_USAGE.keyManagement,
      version: 0,
      algorithm: opts.algorithm,
      maxTries: 15,
      triesLeft: 15,
      value: Buffer.from(opts.transportKey),
    });
    this.current = this.mf;
  }

  /** ATR: T=0 `3B 6B 00 00 …` or T=1 `3B EB 00 00 81 31 FE 45 …`; historical bytes 'G' 'C' 01 + serial. */
  get atr(): Buffer {
    const hist = Buffer.concat([Buffer.from('474301', 'hex'), Buffer.from(this.serial, 'hex')]);
    if (this.protocol === 'T0') return Buffer.concat([Buffer.of(0x3b, 0x60 | hist.length, 0x00, 0x00), hist]);
    const body = Buffer.concat([Buffer.of(0x3b, 0xe0 | hist.length, 0x00, 0x00, 0x81, 0x31, 0xfe, 0x45), hist]);
    let tck = 0;
    for (const b of body.subarray(1)) tck ^= b;
    return Buffer.concat([body, Buffer.of(tck)]);
  }

  get isPresent(): boolean {
    return this.present;
  }

  /** Power-on (insert): RAM is cleared, EEPROM kept; returns the ATR. */
  reset(): Buffer {
    this.present = true;
    this.current = this.mf;
    this.mfAuth.clear();
    this.dfAuth.clear();
    this.challenge = null;
    this.pending = null;
    return this.atr;
  }

  remove(): void {
    this.present = false;
  }

  /** The card is pulled after the n-th next command has run (its answer never reaches the terminal). */
  pullAfterCommands(n: number): void {
    this.removeAfterCommands = n;
  }

  /** The next EEPROM write lands only its first `bytes` bytes, then the card is pulled. */
  tearNextWrite(bytes: number): void {
    this.tearAt = bytes;
  }

  /** Test access to a file's raw bytes (what a chip-level attacker or a lab probe could see). */
  peek(dfFid: number, fid: number): Buffer | null {
    const ef = this.dfs.get(dfFid)?.efs.get(fid);
    return ef ? Buffer.from(ef.data) : null;
  }

  /** Test access: overwrite a file's bytes directly (an attacker with a cloned or opened card). */
  poke(dfFid: number, fid: number, offset: number, data: Uint8Array): void {
    const ef = this.dfs.get(dfFid)?.efs.get(fid);
    if (!ef) throw new Error('no such file');
    ef.data.set(data, offset);
  }

  /** Processes one command APDU; returns response data + SW. Throws { removed: true } when the card is gone. */
  transmit(apdu: Uint8Array): Buffer {
    if (!this.present) throw new CardGone();
    const cmd = Buffer.from(apdu);
    this.log.push(cmd);
    let out: Buffer;
    try {
      out = this.dispatch(cmd);
    } catch (e) {
      if (e instanceof CardGone) {
        this.present = false;
      }
      throw e;
    }
    if (this.removeAfterCommands !== null && --this.removeAfterCommands <= 0) {
      this.removeAfterCommands = null;
      this.present = false;
      throw new CardGone();
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------------------
  private dispatch(cmd: Buffer): Buffer {
    if (cmd.length < 4) return sw(SW.WRONG_LENGTH);
    const [cla, ins, p1, p2] = [cmd[0] ?? 0, cmd[1] ?? 0, cmd[2] ?? 0, cmd[3] ?? 0];
    const body = parseBody(cmd);
    if (!body) return sw(SW.WRONG_LENGTH);
    if (ins !== 0xc0) this.pending = null;
    const sm = (cla & 0x04) !== 0;
    if (![0x00, 0x04, 0x80, 0x84].includes(cla)) return sw(SW.CLA_NOT_SUPPORTED);
    if ((cla & 0x80) !== 0) {
      switch (ins) {
        case 0xe0:
          return this.createFile(p1, p2, body.data);
        case 0xd4:
          return this.writeKey(cmd, p2, body.data, sm);
        case 0x0e:
          return this.eraseDf();
        default:
          return sw(SW.INS_NOT_SUPPORTED);
      }
    }
    switch (ins) {
      case 0xa4:
        return this.select(p1, p2, body.data);
      case 0xb0:
        return this.readBinary(p1, p2, body.le);
      case 0xd6:
        return this.updateBinary(cmd, p1, p2, body.data, sm);
      case 0x84:
        return this.getChallenge(body.le);
      case 0x82:
        return this.externalAuth(p2, body.data);
      case 0x88:
        return this.internalAuth(p2, body.data);
      case 0xc0:
        return this.getResponse(body.le);
      default:
        return sw(SW.INS_NOT_SUPPORTED);
    }
  }

  /** Case 4 answers: T=1 returns the data at once; T=0 says 61xx and keeps it for GET RESPONSE. */
  private answer(data: Buffer): Buffer {
    if (this.protocol === 'T1' || data.length === 0) return withSw(data, SW.OK);
    this.pending = data;
    return sw(0x6100 | data.length);
  }

  private getResponse(le: number | null): Buffer {
    const p = this.pending;
    this.pending = null;
    if (!p) return sw(SW.CONDITIONS_NOT_SATISFIED);
    if (le !== null && le !== 0 && le !== p.length) {
      this.pending = p;
      return sw(0x6c00 | p.length);
    }
    return withSw(p, SW.OK);
  }

  private select(p1: number, p2: number, data: Buffer): Buffer {
    if (p1 === 0x04) {
      for (const df of this.dfs.values()) {
        if (df.aid && df.aid.equals(data)) return this.enterDf(df);
      }
      return sw(SW.FILE_NOT_FOUND);
    }
    if (p1 !== 0x00 || p2 !== 0x00 || data.length !== 2) return sw(SW.WRONG_P1P2);
    const fid = data.readUInt16BE(0);
    if (fid === 0x3f00) {
      this.current = this.mf;
      this.dfAuth.clear();
      return sw(SW.OK);
    }
    const df = this.dfs.get(fid);
    if (df) return this.enterDf(df);
    return this.current.efs.has(fid) ? sw(SW.OK) : sw(SW.FILE_NOT_FOUND);
  }

  private enterDf(df: Df): Buffer {
    this.current = df;
    this.dfAuth.clear(); // MF authentication stays: personalisation creates the DF's files under it
    return sw(SW.OK);
  }

  private efBySfiOrCurrent(p1: number): { ef: Ef | undefined; offsetHigh: number | null } {
    if ((p1 & 0x80) === 0) return { ef: undefined, offsetHigh: p1 };
    const sfi = p1 & 0x1f;
    for (const ef of this.current.efs.values()) if (ef.sfi === sfi) return { ef, offsetHigh: null };
    return { ef: undefined, offsetHigh: null };
  }

  private granted(acl: Acl, smPresent: boolean): boolean {
    if (acl === ACL_FREE) return true;
    if (acl === ACL_NEVER) return false;
    const keyId = acl & 0x0f;
    const authed = this.current === this.mf ? this.mfAuth.has(keyId) : this.dfAuth.has(keyId);
    if ((acl & 0xf0) === 0x10) return authed;
    if ((acl & 0xf0) === 0x20) return authed && smPresent;
    return false;
  }

  private readBinary(p1: number, p2: number, le: number | null): Buffer {
    // Only SFI addressing is in the spec: a card never keeps a "current EF" between terminals' steps.
    const { ef } = this.efBySfiOrCurrent(p1);
    if ((p1 & 0x80) === 0) return sw(SW.WRONG_P1P2);
    if (!ef || ef.type !== FILE_TYPE.binary) return sw(SW.FILE_NOT_FOUND);
    if (!this.granted(ef.readAcl, false)) return sw(SW.SECURITY_NOT_SATISFIED);
    if (p2 >= ef.data.length) return sw(SW.OFFSET_OUT_OF_FILE);
    const rest = ef.data.length - p2;
    const want = le === null || le === 0 ? Math.min(rest, 256) : le;
    if (want > rest) return sw(0x6c00 | rest);
    return withSw(ef.data.subarray(p2, p2 + want), SW.OK);
  }

  /** Checks and strips the 4-byte MAC of a CLA 04/84 command; the MAC covers header, Lc and data. */
  private checkSm(cmd: Buffer, data: Buffer, key: CardKey | undefined): Buffer | number {
    if (!key) return SW.KEY_NOT_FOUND;
    const chal = this.challenge;
    this.challenge = null; // one challenge, one command: a recorded command can never be replayed
    if (!chal) return SW.REFERENCED_DATA_INVALID;
    if (data.length < 4) return SW.WRONG_LENGTH;
    const plain = data.subarray(0, data.length - 4);
    const mac = data.subarray(data.length - 4);
    const macInput = Buffer.concat([cmd.subarray(0, 4), Buffer.of(data.length), plain]);
    const want = cardMac(key.algorithm, key.value, macInput, challengeIv(key.algorithm, chal));
    return sameBytes(want, mac) ? plain : SW.SM_MAC_WRONG;
  }

  private updateBinary(cmd: Buffer, p1: number, p2: number, data: Buffer, sm: boolean): Buffer {
    if ((p1 & 0x80) === 0) return sw(SW.WRONG_P1P2);
    const { ef } = this.efBySfiOrCurrent(p1);
    if (!ef || ef.type !== FILE_TYPE.binary) return sw(SW.FILE_NOT_FOUND);
    let plain = data;
    if (sm) {
      const r = this.checkSm(cmd, data, this.current.keys.get(LINE_KEY_ID));
      if (typeof r === 'number') return sw(r);
      plain = r;
    }
    if (!this.granted(ef.writeAcl, sm)) return sw(SW.SECURITY_NOT_SATISFIED);
    if (p2 + plain.length > ef.data.length) return sw(SW.WRONG_LENGTH);
    this.eepromWrite(ef.data, p2, plain);
    return sw(SW.OK);
  }

  /** The one place EEPROM is written, so a torn write can be injected into every kind of update. */
  private eepromWrite(target: Buffer, offset: number, data: Uint8Array): void {
    if (this.tearAt !== null) {
      const n = Math.min(this.tearAt, data.length);
      this.tearAt = null;
      target.set(data.subarray(0, n), offset);
      throw new CardGone();
    }
    target.set(data, offset);
  }

  private getChallenge(le: number | null): Buffer {
    if (le !== 4 && le !== 8) return sw(SW.WRONG_LENGTH);
    this.challenge = this.random(le);
    return withSw(this.challenge, SW.OK);
  }

  private findKey(id: number): { key: CardKey | undefined; inMf: boolean } {
    if (this.current === this.mf) return { key: this.mf.keys.get(id), inMf: true };
    return { key: this.current.keys.get(id), inMf: false };
  }

  private externalAuth(keyId: number, data: Buffer): Buffer {
    const chal = this.challenge;
    this.challenge = null;
    const { key, inMf } = this.findKey(keyId);
    if (!key) return sw(SW.KEY_NOT_FOUND);
    if (![KEY_USAGE.keyManagement, KEY_USAGE.maintenance, KEY_USAGE.externalAuth].includes(key.usage as 1 | 2 | 3)) {
      return sw(SW.CONDITIONS_NOT_SATISFIED);
    }
    if (key.triesLeft === 0) return sw(SW.AUTH_BLOCKED);
    if (!chal || chal.length !== 8) return sw(SW.REFERENCED_DATA_INVALID);
    if (data.length !== blockSize(key.algorithm)) return sw(SW.WRONG_LENGTH);
    const want = encryptEcb(key.algorithm, key.value, zeroPad(chal, blockSize(key.algorithm)));
    if (!sameBytes(want, data)) {
      key.triesLeft--;
      return sw(key.triesLeft === 0 ? SW.AUTH_BLOCKED : 0x63c0 | key.triesLeft);
    }
    key.triesLeft = key.maxTries;
    (inMf ? this.mfAuth : this.dfAuth).add(keyId);
    return sw(SW.OK);
  }

  private internalAuth(keyId: number, data: Buffer): Buffer {
    const { key } = this.findKey(keyId);
    if (!key) return sw(SW.KEY_NOT_FOUND);
    if (key.usage !== KEY_USAGE.internalAuth) return sw(SW.CONDITIONS_NOT_SATISFIED);
    if (data.length !== 8) return sw(SW.WRONG_LENGTH);
    return this.answer(encryptEcb(key.algorithm, key.value, zeroPad(data, blockSize(key.algorithm))));
  }

  /** CREATE FILE: needs the card master key (MF) or, inside a DF, it or the DF's maintenance key. */
  private createFile(p1: number, p2: number, data: Buffer): Buffer {
    const allowed = this.mfAuth.has(0x00) || (this.current !== this.mf && this.dfAuth.has(MAINTENANCE_KEY_ID));
    if (!allowed) return sw(SW.SECURITY_NOT_SATISFIED);
    if (data.length < 6) return sw(SW.WRONG_LENGTH);
    const fid = (p1 << 8) | p2;
    const type = data[0] ?? 0;
    const size = data.readUInt16BE(1);
    const [readAcl, writeAcl, sfi] = [data[3] ?? 0xff, data[4] ?? 0xff, data[5] ?? 0];
    if (type === FILE_TYPE.df) {
      if (this.current !== this.mf) return sw(SW.CONDITIONS_NOT_SATISFIED);
      if (this.dfs.has(fid)) return sw(SW.FILE_EXISTS);
      const aid = data.subarray(6);
      if (aid.length < 5 || aid.length > 16) return sw(SW.WRONG_DATA);
      this.dfs.set(fid, { fid, aid: Buffer.from(aid), keys: new Map(), hasKeyFile: false, efs: new Map() });
      return sw(SW.OK);
    }
    if (this.current === this.mf) return sw(SW.CONDITIONS_NOT_SATISFIED);
    if (type === FILE_TYPE.keyFile) {
      if (this.current.hasKeyFile) return sw(SW.FILE_EXISTS);
      this.current.hasKeyFile = true;
      return sw(SW.OK);
    }
    if (type !== FILE_TYPE.binary || size === 0 || size > 1024 || sfi < 1 || sfi > 30) return sw(SW.WRONG_DATA);
    const sfiTaken = [...this.current.efs.values()].some((e) => e.sfi === sfi);
    if (this.current.efs.has(fid) || sfiTaken) return sw(SW.FILE_EXISTS);
    this.current.efs.set(fid, { fid, sfi, type, readAcl, writeAcl, data: Buffer.alloc(size) });
    return sw(SW.OK);
  }

  /**
   * WRITE KEY (84 D4 00 id): data = E_KM(pad2(key record)) | MAC_KM. KM, the key management key, is the MF's
   * key 00 in the MF; in a DF it is the maintenance key 01 once that exists, the MF's key 00 before (and for
   * key 01 itself). The card keeps its keys only encrypted on the wire; the MAC with a fresh challenge proves the
   * writer holds KM, so no EXTERNAL AUTH is needed first.
   */
  private writeKey(cmd: Buffer, keyId: number, data: Buffer, sm: boolean): Buffer {
    if (!sm) return sw(SW.SECURITY_NOT_SATISFIED);
    const inMf = this.current === this.mf;
    if (!inMf && !this.current.hasKeyFile) return sw(SW.FILE_NOT_FOUND);
    const km =
      !inMf && keyId !== MAINTENANCE_KEY_ID && this.current.keys.get(MAINTENANCE_KEY_ID)
        ? this.current.keys.get(MAINTENANCE_KEY_ID)
        : this.mf.keys.get(0x00);
    const r = this.checkSm(cmd, data, km);
    if (typeof r === 'number') return sw(r);
    if (!km || r.length === 0 || r.length % blockSize(km.algorithm) !== 0) return sw(SW.WRONG_LENGTH);
    const rec = unpadMethod2(decryptEcb(km.algorithm, km.value, r));
    if (!rec || rec.length !== 21 || rec[0] !== keyId) return sw(SW.WRONG_DATA);
    const algorithm = algorithmFromCode(rec[3] ?? 0);
    if (!algorithm) return sw(SW.WRONG_DATA);
    const key: CardKey = {
      id: keyId,
      usage: rec[1] ?? 0,
      version: rec[2] ?? 0,
      algorithm,
      maxTries: rec[4] ?? 0,
      triesLeft: rec[4] ?? 0,
      value: Buffer.from(rec.subarray(5, 21)),
    };
    (inMf ? this.mf : this.current).keys.set(keyId, key);
    // A session opened with the old key must not outlive it.
    (inMf ? this.mfAuth : this.dfAuth).delete(keyId);
    return sw(SW.OK);
  }

  /** ERASE DF (80 0E 00 00): in the MF, after EXTERNAL AUTH with the card master key; removes every DF. */
  private eraseDf(): Buffer {
    if (this.current !== this.mf) return sw(SW.CONDITIONS_NOT_SATISFIED);
    if (!this.mfAuth.has(0x00)) return sw(SW.SECURITY_NOT_SATISFIED);
    this.dfs.clear();
    return sw(SW.OK);
  }

  /** Key version of a key, for the tests and the reader's status page (a real COS answers it by GET DATA). */
  keyVersion(dfFid: number | 'mf', keyId: number): number | null {
    const df = dfFid === 'mf' ? this.mf : this.dfs.get(dfFid);
    return df?.keys.get(keyId)?.version ?? null;
  }

  triesLeft(dfFid: number | 'mf', keyId: number): number | null {
    const df = dfFid === 'mf' ? this.mf : this.dfs.get(dfFid);
    return df?.keys.get(keyId)?.triesLeft ?? null;
  }
}

/** Thrown by transmit() when the card has left the slot. */
export class CardGone extends Error {
  constructor() {
    super('card removed');
    this.name = 'CardGone';
  }
}

function sw(code: number): Buffer {
  return Buffer.of(code >> 8, code & 0xff);
}

/** Short APDU body: case 1 (none), 2 (Le), 3 (Lc data), 4 (Lc data Le). null when the lengths do not add up. */
function parseBody(cmd: Buffer): { data: Buffer; le: number | null } | null {
  if (cmd.length === 4) return { data: Buffer.alloc(0), le: null };
  if (cmd.length === 5) return { data: Buffer.alloc(0), le: cmd[4] ?? 0 };
  const lc = cmd[4] ?? 0;
  if (cmd.length === 5 + lc) return { data: cmd.subarray(5, 5 + lc), le: null };
  if (cmd.length === 6 + lc) return { data: cmd.subarray(5, 5 + lc), le: cmd[5 + lc] ?? 0 };
  return null;
}
