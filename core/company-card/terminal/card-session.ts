/**
 * The steps both terminals of spec §9 share — the counter and the meter — over a card channel and a security
 * module channel (PSAM or the meter's ESAM). Each method is one step of the spec's flows, APDU for APDU.
 */
import { randomBytes } from 'node:crypto';
import { type ApduChannel, SW, command, exchange, expectOk, swHex } from '../apdu.ts';
import { type CardAlgorithm, blockSize } from '../crypto/block-cipher.ts';
import { zeroPad } from '../crypto/mac.ts';
import { encodeBcdNumber, encodeSerial } from '../card-numbers.ts';
import {
  CompanyCardAuthFailed,
  CompanyCardKeyVersionUnknown,
  CompanyCardNotOurs,
  CompanyCardStatus,
} from '../company-card-errors.ts';
import { type KeyKind, KEY_CODE, cardKeyId } from '../keys.ts';
import { PSAM_AID, PSAM_OP } from '../emulator/psam.ts';
import {
  type CardInfo,
  type PurchaseRecord,
  type WriteBack,
  FILES,
  GAS_AID,
  decodeCardInfo,
  decodePurchase,
  decodeWriteBack,
  effectivePurchase,
  purchaseMacData,
  writeBackMacData,
} from '../records.ts';

/** The chip serial from our ATR's historical bytes ('G' 'C' 01 + 8 bytes); null for any other card. */
export function serialFromAtr(atr: Uint8Array): string | null {
  const b = Buffer.from(atr);
  const at = b.indexOf(Buffer.from('474301', 'hex'));
  if (at < 0 || at + 11 > b.length) return null;
  return b
    .subarray(at + 3, at + 11)
    .toString('hex')
    .toUpperCase();
}

export interface KeyContext {
  cardNo: string;
  serial: string;
  keyVersion: number;
  algorithm: CardAlgorithm;
}

export class CardSession {
  constructor(
    readonly card: ApduChannel,
    readonly sam: ApduChannel,
  ) {}

  // ---------- security module ----------
  async samSelect(): Promise<void> {
    await expectOk(this.sam, command(0x00, 0xa4, 0x04, 0x00, PSAM_AID), 'PSAM SELECT');
  }

  /** 80 1A: the module derives this card's key of `kind`; 6A88 means it lacks that key version. */
  async samDerive(kind: KeyKind, version: number, cardNo: string, serial: string): Promise<void> {
    const data = Buffer.concat([encodeBcdNumber(cardNo, 'cardNo'), encodeSerial(serial)]);
    const r = await exchange(this.sam, command(0x80, 0x1a, KEY_CODE[kind], version, data));
    if (r.sw === SW.KEY_NOT_FOUND) throw CompanyCardKeyVersionUnknown({ keyVersion: version, kind });
    if (r.sw !== SW.OK) throw CompanyCardStatus({ step: 'PSAM 80 1A', sw: swHex(r.sw) });
  }

  async samEncrypt(data: Uint8Array): Promise<Buffer> {
    return expectOk(this.sam, command(0x80, 0xfa, PSAM_OP.encrypt, 0x00, data, 0x00), 'PSAM 80 FA encrypt');
  }

  async samMac(iv: Uint8Array, message: Uint8Array): Promise<Buffer> {
    return expectOk(
      this.sam,
      command(0x80, 0xfa, PSAM_OP.mac, 0x00, Buffer.concat([iv, message]), 0x00),
      'PSAM 80 FA MAC',
    );
  }

  async samVerify(iv: Uint8Array, message: Uint8Array, mac: Uint8Array): Promise<boolean> {
    const r = await exchange(this.sam, command(0x80, 0xfa, PSAM_OP.verifyMac, 0x00, Buffer.concat([iv, message, mac])));
    if (r.sw === SW.OK) return true;
    if (r.sw === SW.SM_MAC_WRONG) return false;
    throw CompanyCardStatus({ step: 'PSAM 80 FA verify', sw: swHex(r.sw) });
  }

  // ---------- card ----------
  async selectMf(): Promise<void> {
    await expectOk(this.card, command(0x00, 0xa4, 0x00, 0x00, Buffer.from('3F00', 'hex')), 'SELECT MF');
  }

  /** SELECT by AID; a card without our application is not ours (never guess). */
  async selectApp(): Promise<void> {
    const r = await exchange(this.card, command(0x00, 0xa4, 0x04, 0x00, GAS_AID));
    if (r.sw !== SW.OK) throw CompanyCardNotOurs({ sw: swHex(r.sw) });
  }

  async readFile(sfi: number, length: number): Promise<Buffer> {
    return expectOk(this.card, command(0x00, 0xb0, 0x80 | sfi, 0x00, undefined, length), `READ BINARY SFI ${sfi}`);
  }

  /** Reads the card information and checks it names the chip it is on (a copied file would not). */
  async readInfo(atrSerial: string): Promise<CardInfo> {
    const info = decodeCardInfo(await this.readFile(FILES.cardInfo.sfi, FILES.cardInfo.size));
    if (!info || info.serial !== atrSerial) throw CompanyCardNotOurs({ reason: 'card information' });
    return info;
  }

  async getChallenge(length: 4 | 8): Promise<Buffer> {
    return expectOk(this.card, command(0x00, 0x84, 0x00, 0x00, undefined, length), 'GET CHALLENGE');
  }

  /** GET CHALLENGE 8, the module encrypts it, EXTERNAL AUTHENTICATE. */
  async externalAuth(kind: KeyKind, ctx: KeyContext, cardNoForKey = ctx.cardNo): Promise<void> {
    await this.samDerive(kind, kind === 'transport' ? 0 : ctx.keyVersion, cardNoForKey, ctx.serial);
    const rnd = await this.getChallenge(8);
    const crypt = await this.samEncrypt(zeroPad(rnd, blockSize(ctx.algorithm)));
    const r = await exchange(this.card, command(0x00, 0x82, 0x00, cardKeyId(kind), crypt));
    if (r.sw === SW.OK) return;
    if ((r.sw & 0xfff0) === 0x63c0 || r.sw === SW.AUTH_BLOCKED) {
      throw CompanyCardAuthFailed({ step: 'EXTERNAL AUTHENTICATE', sw: swHex(r.sw), triesLeft: r.sw & 0x0f });
    }
    throw CompanyCardStatus({ step: 'EXTERNAL AUTHENTICATE', sw: swHex(r.sw) });
  }

  /** The terminal challenges the card (INTERNAL AUTHENTICATE) and its module checks the answer. */
  async internalAuth(ctx: KeyContext): Promise<boolean> {
    const rnd = randomBytes(8);
    const r = await exchange(this.card, command(0x00, 0x88, 0x00, KEY_CODE.internalAuth, rnd, 0x00));
    if (r.sw !== SW.OK) return false;
    await this.samDerive('internalAuth', ctx.keyVersion, ctx.cardNo, ctx.serial);
    const want = await this.samEncrypt(zeroPad(rnd, blockSize(ctx.algorithm)));
    return want.equals(r.data);
  }

  /** GET CHALLENGE 4, line MAC from the module, UPDATE BINARY with CLA 04. */
  async updateSm(sfi: number, data: Uint8Array, ctx: KeyContext): Promise<void> {
    await this.samDerive('lineProtection', ctx.keyVersion, ctx.cardNo, ctx.serial);
    const chal = await this.getChallenge(4);
    const header = Buffer.of(0x04, 0xd6, 0x80 | sfi, 0x00, data.length + 4);
    const mac = await this.samMac(zeroPad(chal, blockSize(ctx.algorithm)), Buffer.concat([header, data]));
    await expectOk(this.card, Buffer.concat([header, data, mac]), `UPDATE BINARY SFI ${sfi}`);
  }

  async readPurchases(): Promise<{ purchase: PurchaseRecord | null; backup: PurchaseRecord | null }> {
    const purchase = decodePurchase(await this.readFile(FILES.purchase.sfi, FILES.purchase.size));
    const backup = decodePurchase(await this.readFile(FILES.purchaseBackup.sfi, FILES.purchaseBackup.size));
    return { purchase, backup };
  }

  async readWriteBack(): Promise<WriteBack | null> {
    return decodeWriteBack(await this.readFile(FILES.writeBack.sfi, FILES.writeBack.size));
  }

  /** Verifies a purchase MAC inside the module (kind purchaseMac). */
  async purchaseMacOk(info: CardInfo, p: PurchaseRecord): Promise<boolean> {
    await this.samDerive('purchaseMac', info.keyVersion, info.cardNo, info.serial);
    return this.samVerify(
      zeroPad(Buffer.alloc(0), blockSize(info.algorithm)),
      purchaseMacData(info, p),
      Buffer.from(p.mac, 'hex'),
    );
  }

  async writeBackMacOk(info: CardInfo, w: WriteBack): Promise<boolean> {
    await this.samDerive('writeBackMac', info.keyVersion, info.cardNo, info.serial);
    return this.samVerify(
      zeroPad(Buffer.alloc(0), blockSize(info.algorithm)),
      writeBackMacData(info, w),
      Buffer.from(w.mac, 'hex'),
    );
  }

  /** The record in force: both copies are checked by MAC first (spec §4.4). */
  async effective(info: CardInfo): Promise<{ record: PurchaseRecord; source: 'purchase' | 'backup' } | null> {
    const { purchase, backup } = await this.readPurchases();
    const ok = new Map<PurchaseRecord, boolean>();
    for (const r of [purchase, backup]) if (r) ok.set(r, await this.purchaseMacOk(info, r));
    return effectivePurchase(purchase, backup, (r) => ok.get(r) === true);
  }
}

export function ctxOf(info: CardInfo): KeyContext {
  return { cardNo: info.cardNo, serial: info.serial, keyVersion: info.keyVersion, algorithm: info.algorithm };
}
