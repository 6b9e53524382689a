/**
 * The gas application's files, byte by byte (spec §4), and the data each MAC covers (spec §6.4, §6.5).
 * All integers are big-endian. Gas bought is in whole m³ (as in the SDK spec §4); the meter's measures in the
 * write-back are in 0.01 m³, because meters count finer than the counter sells.
 */
import { type CardAlgorithm, ALGORITHM_CODE, algorithmFromCode } from './crypto/block-cipher.ts';
import {
  NO_SERIAL,
  checkUint,
  decodeBcdDigits,
  decodeBcdNumber,
  encodeBcdDigits,
  encodeBcdNumber,
  encodeSerial,
} from './card-numbers.ts';

export const GAS_AID = Buffer.from('F047415343505501', 'hex'); // F0 'GASCPU' 01: proprietary (ISO 7816-5 'F')
export const GAS_DF_FID = 0xdf01;
export const FILES = {
  keys: { fid: 0x0000 },
  cardInfo: { fid: 0x0001, sfi: 1, size: 35 },
  purchase: { fid: 0x0002, sfi: 2, size: 18 },
  purchaseBackup: { fid: 0x0003, sfi: 3, size: 18 },
  writeBack: { fid: 0x0004, sfi: 4, size: 84 },
} as const;

export const RECORD_FORMAT = 0x01;

// ---------- card information (SFI 1) ----------
export interface CardInfo {
  cardNo: string;
  companyCode: string;
  meterKind: 1 | 2;
  serial: string;
  /** Serial of the card this one replaces (reissue); NO_SERIAL when none. */
  prevSerial: string;
  issueDate: string;
  keyVersion: number;
  algorithm: CardAlgorithm;
  reissueCount: number;
}

export function encodeCardInfo(i: CardInfo): Buffer {
  if (i.meterKind !== 1 && i.meterKind !== 2) checkUint(-1, 2, 'meterKind');
  return Buffer.concat([
    Buffer.of(RECORD_FORMAT),
    encodeBcdNumber(i.cardNo, 'cardNo'),
    encodeBcdDigits(i.companyCode, 4, 'companyCode'),
    Buffer.of(i.meterKind),
    encodeSerial(i.serial),
    encodeSerial(i.prevSerial, 'prevSerial'),
    encodeBcdDigits(i.issueDate, 8, 'issueDate'),
    Buffer.of(
      checkUint(i.keyVersion, 255, 'keyVersion'),
      ALGORITHM_CODE[i.algorithm],
      checkUint(i.reissueCount, 255, 'reissueCount'),
    ),
  ]);
}

export function decodeCardInfo(b: Uint8Array): CardInfo | null {
  if (b.length < FILES.cardInfo.size || b[0] !== RECORD_FORMAT) return null;
  const buf = Buffer.from(b);
  const cardNo = decodeBcdNumber(buf.subarray(1, 9));
  const companyCode = decodeBcdDigits(buf.subarray(9, 11));
  const meterKind = buf[11];
  const issueDate = decodeBcdDigits(buf.subarray(28, 32));
  const algorithm = algorithmFromCode(buf[33] ?? 0);
  if (!cardNo || !companyCode || (meterKind !== 1 && meterKind !== 2) || !issueDate || !algorithm) return null;
  return {
    cardNo: cardNo.replace(/^0+(?=.)/, ''),
    companyCode,
    meterKind,
    serial: buf.subarray(12, 20).toString('hex').toUpperCase(),
    prevSerial: buf.subarray(20, 28).toString('hex').toUpperCase(),
    issueDate,
    keyVersion: buf[32] ?? 0,
    algorithm,
    reissueCount: buf[34] ?? 0,
  };
}

// ---------- purchase (SFI 2) and its backup (SFI 3) ----------
export interface PurchaseRecord {
  gas: number;
  count: number;
  /** YYYYMMDDhhmmss */
  date: string;
  mac: string;
}

export function purchaseBody(p: Omit<PurchaseRecord, 'mac'>): Buffer {
  const b = Buffer.alloc(14);
  b[0] = RECORD_FORMAT;
  b.writeUInt32BE(checkUint(p.gas, 99_999_999, 'gas'), 1);
  b.writeUInt16BE(checkUint(p.count, 32_767, 'count'), 5);
  encodeBcdDigits(p.date, 14, 'date').copy(b, 7);
  return b;
}

export function encodePurchase(p: PurchaseRecord): Buffer {
  return Buffer.concat([purchaseBody(p), Buffer.from(p.mac, 'hex')]);
}

/** null for a blank or unparsable record (never written, erased, or torn). */
export function decodePurchase(b: Uint8Array): PurchaseRecord | null {
  if (b.length < FILES.purchase.size || b[0] !== RECORD_FORMAT) return null;
  const buf = Buffer.from(b);
  const date = decodeBcdDigits(buf.subarray(7, 14));
  if (!date) return null;
  return {
    gas: buf.readUInt32BE(1),
    count: buf.readUInt16BE(5),
    date,
    mac: buf.subarray(14, 18).toString('hex').toUpperCase(),
  };
}

/** What the purchase MAC covers: who the card is (so a record cannot move to another card) and the record. */
export function purchaseMacData(info: CardInfo, p: Omit<PurchaseRecord, 'mac'>): Buffer {
  return Buffer.concat([
    encodeBcdNumber(info.cardNo, 'cardNo'),
    encodeSerial(info.serial),
    encodeSerial(info.prevSerial, 'prevSerial'),
    Buffer.of(info.keyVersion, ALGORITHM_CODE[info.algorithm]),
    encodeBcdDigits(info.companyCode, 4, 'companyCode'),
    Buffer.of(info.meterKind),
    purchaseBody(p),
  ]);
}

export type RecordCheck = (p: PurchaseRecord) => boolean;

/**
 * The record in force (spec §4.4): of the purchase file and its backup, those whose MAC verifies; the higher
 * count wins, and on equal counts the purchase file. Writers update the backup first, then the purchase file,
 * so at every instant — including a card pulled half-way through either write — this yields either the whole
 * old record or the whole new one.
 */
export function effectivePurchase(
  purchase: PurchaseRecord | null,
  backup: PurchaseRecord | null,
  macOk: RecordCheck,
): { record: PurchaseRecord; source: 'purchase' | 'backup' } | null {
  const p = purchase && macOk(purchase) ? purchase : null;
  const b = backup && macOk(backup) ? backup : null;
  if (p && (!b || p.count >= b.count)) return { record: p, source: 'purchase' };
  if (b) return { record: b, source: 'backup' };
  return null;
}

// ---------- meter write-back (SFI 4) ----------
export interface WriteBack {
  meterNo: string;
  /** The highest purchase count the meter has loaded. */
  countSeen: number;
  /** 0.01 m³ */
  cumulative: number;
  remaining: number;
  /** YYMM of months[0], the current month; months[1] is the month before, … */
  monthStart: string;
  months: number[];
  /** Meter status bits (spec §4.5): valve closed, battery low, magnetic attack, sensor fault, … */
  status: number;
  /** The meter's own return code of its last card session (spec §8.6). */
  lastCode: number;
  /** YYYYMMDDhhmmss of the write-back */
  date: string;
  mac: string;
}

export function writeBackBody(w: Omit<WriteBack, 'mac'>): Buffer {
  const b = Buffer.alloc(80);
  b[0] = RECORD_FORMAT;
  encodeBcdNumber(w.meterNo, 'meterNo').copy(b, 1);
  b.writeUInt16BE(checkUint(w.countSeen, 32_767, 'countSeen'), 9);
  b.writeUInt32BE(checkUint(w.cumulative, 0xffffffff, 'cumulative'), 11);
  b.writeUInt32BE(checkUint(w.remaining, 0xffffffff, 'remaining'), 15);
  encodeBcdDigits(w.monthStart, 4, 'monthStart').copy(b, 19);
  if (w.months.length !== 12) checkUint(-1, 12, 'months');
  w.months.forEach((m, i) => b.writeUInt32BE(checkUint(m, 0xffffffff, 'months'), 21 + 4 * i));
  b.writeUInt16BE(checkUint(w.status, 0xffff, 'status'), 69);
  b.writeUInt16BE(checkUint(w.lastCode, 0xffff, 'lastCode'), 71);
  encodeBcdDigits(w.date, 14, 'date').copy(b, 73);
  return b;
}

export function encodeWriteBack(w: WriteBack): Buffer {
  return Buffer.concat([writeBackBody(w), Buffer.from(w.mac, 'hex')]);
}

export function decodeWriteBack(b: Uint8Array): WriteBack | null {
  if (b.length < FILES.writeBack.size || b[0] !== RECORD_FORMAT) return null;
  const buf = Buffer.from(b);
  const meterNo = decodeBcdNumber(buf.subarray(1, 9));
  const monthStart = decodeBcdDigits(buf.subarray(19, 21));
  const date = decodeBcdDigits(buf.subarray(73, 80));
  if (!meterNo || !monthStart || !date) return null;
  return {
    meterNo: meterNo.replace(/^0+(?=.)/, ''),
    countSeen: buf.readUInt16BE(9),
    cumulative: buf.readUInt32BE(11),
    remaining: buf.readUInt32BE(15),
    monthStart,
    months: Array.from({ length: 12 }, (_, i) => buf.readUInt32BE(21 + 4 * i)),
    status: buf.readUInt16BE(69),
    lastCode: buf.readUInt16BE(71),
    date,
    mac: buf.subarray(80, 84).toString('hex').toUpperCase(),
  };
}

export function writeBackMacData(info: CardInfo, w: Omit<WriteBack, 'mac'>): Buffer {
  return Buffer.concat([encodeBcdNumber(info.cardNo, 'cardNo'), encodeSerial(info.serial), writeBackBody(w)]);
}

export { NO_SERIAL };
