/**
 * A gas meter as spec §10 wants it to treat the company card, with its ESAM (a PsamEmulator in the meter
 * role) reached by APDUs like a real one. It is the reference for meter makers: load gas only from a genuine
 * card of this meter's customer whose purchase MAC verifies and whose count is exactly the next one; refuse
 * cards the company has blacklisted; and always leave a write-back MACed with the meter's key, so the counter
 * and the server can trust the usage it carries.
 *
 * Measures are kept in 0.01 m³ (the write-back's unit); purchases arrive in whole m³.
 */
import { type ApduChannel } from '../apdu.ts';
import { blockSize } from '../crypto/block-cipher.ts';
import { zeroPad } from '../crypto/mac.ts';
import { CompanyCardKeyVersionUnknown, CompanyCardNotOurs } from '../company-card-errors.ts';
import { type WriteBack, FILES, NO_SERIAL, encodeWriteBack, writeBackMacData } from '../records.ts';
import { CardSession, ctxOf, serialFromAtr } from '../terminal/card-session.ts';

/** The meter's return codes of a card session (spec §10.3), written back as `lastCode`. */
export const METER_CODE = {
  loaded: 0x0000,
  nothingNew: 0x0001, // count already loaded: the card is only read (a replay is refused here)
  countGap: 0x0002, // count jumps ahead: a purchase was skipped; the counter must look at it
  wrongCustomer: 0x0003,
  purchaseMacBad: 0x0004,
  notGenuine: 0x0005, // internal authentication failed: copied or forged card, nothing written
  blacklisted: 0x0006, // a replaced (lost) card, nothing written
  keyVersionUnknown: 0x0007, // the ESAM lacks the card's key version, nothing written
  notOurs: 0x0008,
  noPurchase: 0x0009,
} as const;
export type MeterOutcome = keyof typeof METER_CODE;

/** Status bits written back (spec §4.5). */
export const METER_STATUS = {
  valveClosed: 0x0001,
  batteryLow: 0x0002,
  magneticAttack: 0x0004,
  sensorFault: 0x0008,
} as const;

export interface MeterSession {
  outcome: MeterOutcome;
  loadedGas: number;
  wroteBack: boolean;
}

export class MeterSimulator {
  boundCardNo: string | null = null;
  lastCount = 0;
  /** 0.01 m³ */
  remaining = 0;
  cumulative = 0;
  /** months[0] = this month. */
  months: number[] = new Array<number>(12).fill(0);
  monthStart: string;
  status = 0;
  readonly blacklist = new Set<string>();
  lastCode = 0;

  constructor(
    readonly meterNo: string,
    private readonly esam: ApduChannel,
    opts: { monthStart?: string } = {},
  ) {
    this.monthStart = opts.monthStart ?? '2612';
  }

  /** Gas flows: remaining goes down, cumulative and this month go up; the valve closes at 0. */
  use(hundredths: number): void {
    const used = Math.min(hundredths, this.remaining);
    this.remaining -= used;
    this.cumulative += used;
    this.months[0] = (this.months[0] ?? 0) + used;
    if (this.remaining === 0) this.status |= METER_STATUS.valveClosed;
  }

  /** The month turns: usage shifts back one slot. */
  newMonth(yymm: string): void {
    this.months = [0, ...this.months.slice(0, 11)];
    this.monthStart = yymm;
  }

  /** A card is inserted: spec §10.2, step by step. */
  async insert(card: ApduChannel, atr: Uint8Array, now: string): Promise<MeterSession> {
    const s = new CardSession(card, this.esam);
    const done = (outcome: MeterOutcome, loadedGas = 0, wroteBack = false): MeterSession => {
      this.lastCode = METER_CODE[outcome];
      return { outcome, loadedGas, wroteBack };
    };
    const serial = serialFromAtr(atr);
    if (!serial) return done('notOurs');
    await s.samSelect();
    let info;
    try {
      await s.selectApp();
      info = await s.readInfo(serial);
    } catch (e) {
      if (CompanyCardNotOurs.is(e)) return done('notOurs');
      throw e;
    }
    if (this.blacklist.has(info.serial)) return done('blacklisted');
    const ctx = ctxOf(info);
    try {
      if (!(await s.internalAuth(ctx))) return done('notGenuine');
    } catch (e) {
      if (CompanyCardKeyVersionUnknown.is(e)) return done('keyVersionUnknown');
      throw e;
    }
    if (this.boundCardNo !== null && this.boundCardNo !== info.cardNo) return done('wrongCustomer');
    const { purchase, backup } = await s.readPurchases();
    const eff = await s.effective(info);
    let outcome: MeterOutcome;
    let loaded = 0;
    if (!eff) {
      outcome = purchase || backup ? 'purchaseMacBad' : 'noPurchase';
    } else {
      // The purchase MAC also covers prevSerial: only a genuine reissue can blacklist the card it replaces.
      if (info.prevSerial !== NO_SERIAL) this.blacklist.add(info.prevSerial);
      const { count, gas } = eff.record;
      if (count <= this.lastCount) outcome = 'nothingNew';
      else if (count !== this.lastCount + 1) outcome = 'countGap';
      else {
        outcome = 'loaded';
        loaded = gas;
        this.boundCardNo ??= info.cardNo;
        this.lastCount = count;
        this.remaining += gas * 100;
        if (this.remaining > 0) this.status &= ~METER_STATUS.valveClosed;
      }
    }
    this.lastCode = METER_CODE[outcome];
    const body: Omit<WriteBack, 'mac'> = {
      meterNo: this.meterNo,
      countSeen: this.lastCount,
      cumulative: this.cumulative,
      remaining: this.remaining,
      monthStart: this.monthStart,
      months: [...this.months],
      status: this.status,
      lastCode: this.lastCode,
      date: now,
    };
    await s.samDerive('writeBackMac', info.keyVersion, info.cardNo, info.serial);
    const mac = await s.samMac(zeroPad(Buffer.alloc(0), blockSize(info.algorithm)), writeBackMacData(info, body));
    await s.externalAuth('externalAuth', ctx);
    await s.updateSm(FILES.writeBack.sfi, encodeWriteBack({ ...body, mac: mac.toString('hex').toUpperCase() }), ctx);
    return { outcome, loadedGas: loaded, wroteBack: true };
  }
}
