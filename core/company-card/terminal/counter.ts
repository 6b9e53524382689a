/**
 * The counter's side of spec §9: personalisation (发卡), sale and refund, reissue (补卡), format (擦卡), reading
 * a card with its meter data verified, and recovery of an interrupted write. The ledger decides gas and count;
 * this writes exactly what it is given and proves it by reading back.
 */
import { type ApduChannel, command, expectOk } from '../apdu.ts';
import { type CardAlgorithm, blockSize } from '../crypto/block-cipher.ts';
import { encodeBcdNumber } from '../card-numbers.ts';
import { CompanyCardBadInput, CompanyCardNotOurs, CompanyCardStatus } from '../company-card-errors.ts';
import { type KeyKind, CARD_DF_KEYS, KEY_CODE, cardKeyId } from '../keys.ts';
import { ACL_FREE, FILE_TYPE, aclAuth, aclAuthSm } from '../emulator/company-cos.ts';
import {
  type CardInfo,
  type PurchaseRecord,
  type WriteBack,
  FILES,
  GAS_AID,
  GAS_DF_FID,
  NO_SERIAL,
  encodeCardInfo,
  encodePurchase,
  purchaseMacData,
} from '../records.ts';
import { type KeyContext, CardSession, ctxOf, serialFromAtr } from './card-session.ts';
import { zeroPad } from '../crypto/mac.ts';

export interface CardView {
  info: CardInfo;
  /** INTERNAL AUTHENTICATE answered with this card's key: the chip is ours, not a copy of its files. */
  genuine: boolean;
  purchase: PurchaseRecord | null;
  source: 'purchase' | 'backup' | null;
  /** The backup holds a newer record than the purchase file: an interrupted write; `recover()` completes it. */
  needsRecovery: boolean;
  writeBack: WriteBack | null;
  /** null when the meter never wrote back; false = forged or damaged (usage not trusted). */
  writeBackVerified: boolean | null;
  /** Gas bought on the card that no meter has loaded yet. */
  unloadedGas: number;
}

export interface IssueRequest {
  cardNo: string;
  companyCode: string;
  meterKind: 1 | 2;
  issueDate: string;
  keyVersion: number;
  algorithm: CardAlgorithm;
  /** Serial of the lost card this one replaces (补卡); it is blacklisted by every meter that sees this card. */
  prevSerial?: string;
  reissueCount?: number;
  gas: number;
  count: number;
  date: string;
}

export interface WriteResult {
  view: CardView;
  /** The commands sent to the card, in order, for the spec's flow tables and the audit. */
  cardCommands: number;
}

export class CounterTerminal {
  readonly s: CardSession;
  constructor(
    card: ApduChannel,
    psam: ApduChannel,
    private readonly atr: Uint8Array,
  ) {
    this.s = new CardSession(card, psam);
  }

  private serial(): string {
    const s = serialFromAtr(this.atr);
    if (!s) throw CompanyCardNotOurs({ reason: 'ATR' });
    return s;
  }

  /** 发卡 / 补卡: spec §9.1. The card comes from the supplier with only the MF and its transport key. */
  async issue(req: IssueRequest): Promise<WriteResult> {
    const serial = this.serial();
    const info: CardInfo = {
      cardNo: req.cardNo,
      companyCode: req.companyCode,
      meterKind: req.meterKind,
      serial,
      prevSerial: req.prevSerial ?? NO_SERIAL,
      issueDate: req.issueDate,
      keyVersion: req.keyVersion,
      algorithm: req.algorithm,
      reissueCount: req.reissueCount ?? 0,
    };
    const infoBytes = encodeCardInfo(info); // validates every field before the card is touched
    const ctx = ctxOf(info);
    const s = this.s;
    await s.samSelect();
    await s.selectMf();
    await s.externalAuth('transport', ctx, '0');
    await this.writeKey('cardMaster', ctx, 'transport');
    await s.externalAuth('cardMaster', ctx);
    await expectOk(
      s.card,
      command(
        0x80,
        0xe0,
        GAS_DF_FID >> 8,
        GAS_DF_FID & 0xff,
        Buffer.concat([Buffer.of(FILE_TYPE.df, 0, 0, ACL_FREE, aclAuth(0x00), 0), GAS_AID]),
      ),
      'CREATE DF',
    );
    await s.selectApp();
    await expectOk(
      s.card,
      command(0x80, 0xe0, 0x00, 0x00, Buffer.of(FILE_TYPE.keyFile, 0, 0, 0xff, 0xff, 0)),
      'CREATE KEY FILE',
    );
    await this.writeKey('maintenance', ctx, 'cardMaster');
    for (const kind of CARD_DF_KEYS.filter((k) => k !== 'maintenance')) await this.writeKey(kind, ctx, 'maintenance');
    const files: Array<[number, number, number, number]> = [
      [FILES.cardInfo.fid, FILES.cardInfo.sfi, FILES.cardInfo.size, aclAuthSm(KEY_CODE.maintenance)],
      [FILES.purchase.fid, FILES.purchase.sfi, FILES.purchase.size, aclAuthSm(KEY_CODE.externalAuth)],
      [FILES.purchaseBackup.fid, FILES.purchaseBackup.sfi, FILES.purchaseBackup.size, aclAuthSm(KEY_CODE.externalAuth)],
      [FILES.writeBack.fid, FILES.writeBack.sfi, FILES.writeBack.size, aclAuthSm(KEY_CODE.externalAuth)],
    ];
    for (const [fid, sfi, size, writeAcl] of files) {
      await expectOk(
        s.card,
        command(
          0x80,
          0xe0,
          fid >> 8,
          fid & 0xff,
          Buffer.of(FILE_TYPE.binary, size >> 8, size & 0xff, ACL_FREE, writeAcl, sfi),
        ),
        `CREATE EF ${sfi}`,
      );
    }
    await s.externalAuth('maintenance', ctx);
    await s.updateSm(FILES.cardInfo.sfi, infoBytes, ctx);
    return this.writePurchase({ gas: req.gas, count: req.count, date: req.date });
  }

  /** One key into the current key file, encrypted and MACed by the PSAM under the key management key `km`. */
  private async writeKey(kind: KeyKind, ctx: KeyContext, km: KeyKind): Promise<void> {
    const s = this.s;
    await s.samDerive(km, km === 'transport' ? 0 : ctx.keyVersion, km === 'transport' ? '0' : ctx.cardNo, ctx.serial);
    const chal = await s.getChallenge(4);
    const lc = (Math.floor(21 / blockSize(ctx.algorithm)) + 1) * blockSize(ctx.algorithm) + 4;
    const header = Buffer.of(0x84, 0xd4, 0x00, cardKeyId(kind), lc);
    const version = kind === 'transport' ? 0 : ctx.keyVersion;
    const data = await expectOk(
      s.sam,
      command(
        0x80,
        0x1c,
        KEY_CODE[kind],
        version,
        Buffer.concat([encodeBcdNumber(ctx.cardNo, 'cardNo'), header, chal]),
        0x00,
      ),
      'PSAM 80 1C',
    );
    if (data.length !== lc) throw CompanyCardStatus({ step: 'PSAM 80 1C', reason: 'length' });
    await expectOk(s.card, Buffer.concat([header, data]), `WRITE KEY ${cardKeyId(kind)}`);
  }

  /**
   * 售气 / 退气: spec §9.2. Backup first, then the purchase file, then read back; the ledger confirms only
   * when the read-back shows exactly this record in force.
   */
  async writePurchase(p: { gas: number; count: number; date: string }): Promise<WriteResult> {
    const s = this.s;
    const before = countOf(s);
    await s.samSelect();
    await s.selectApp();
    const info = await s.readInfo(this.serial());
    const ctx = ctxOf(info);
    await s.samDerive('purchaseMac', info.keyVersion, info.cardNo, info.serial);
    const mac = await s.samMac(zeroPad(Buffer.alloc(0), blockSize(info.algorithm)), purchaseMacData(info, p));
    const record = encodePurchase({ ...p, mac: mac.toString('hex').toUpperCase() });
    await s.externalAuth('externalAuth', ctx);
    await s.updateSm(FILES.purchaseBackup.sfi, record, ctx);
    await s.updateSm(FILES.purchase.sfi, record, ctx);
    const view = await this.read();
    const got = view.purchase;
    if (!got || got.count !== p.count || got.gas !== p.gas || got.mac !== mac.toString('hex').toUpperCase()) {
      throw CompanyCardStatus(
        { step: 'read-back' },
        { zh: '读回的购气记录与写入的不一致', en: 'read-back differs from the record written' },
      );
    }
    return { view, cardCommands: countOf(s) - before };
  }

  /** 退气: gas 0 at the same count (SDK spec §4.1), allowed only while no meter has loaded the purchase. */
  async refund(date: string): Promise<WriteResult> {
    const view = await this.read();
    if (!view.purchase || view.unloadedGas === 0) {
      throw CompanyCardBadInput(
        { field: 'refund' },
        { zh: '卡上没有未进表的气，不能退气', en: 'no unloaded gas on the card to refund' },
      );
    }
    return this.writePurchase({ gas: 0, count: view.purchase.count, date });
  }

  /** Reads and checks everything: ownership, genuineness, purchase in force, the meter's write-back MAC. */
  async read(): Promise<CardView> {
    const s = this.s;
    await s.samSelect();
    await s.selectApp();
    const info = await s.readInfo(this.serial());
    const genuine = await s.internalAuth(ctxOf(info));
    const { purchase, backup } = await s.readPurchases();
    const eff = await s.effective(info);
    const writeBack = await s.readWriteBack();
    const writeBackVerified = writeBack ? await s.writeBackMacOk(info, writeBack) : null;
    const rec = eff?.record ?? null;
    const needsRecovery = eff?.source === 'backup' && !(purchase && backup && sameRecord(purchase, backup));
    const loaded = writeBackVerified && writeBack ? writeBack.countSeen : 0;
    const unloadedGas = rec && rec.count > loaded ? rec.gas : 0;
    return {
      info,
      genuine,
      purchase: rec,
      source: eff?.source ?? null,
      needsRecovery,
      writeBack,
      writeBackVerified,
      unloadedGas,
    };
  }

  /** Completes a write the card was pulled from: copies the backup (the newer record) into the purchase file. */
  async recover(): Promise<WriteResult> {
    const view = await this.read();
    if (!view.needsRecovery || !view.purchase) return { view, cardCommands: 0 };
    const ctx = ctxOf(view.info);
    await this.s.externalAuth('externalAuth', ctx);
    await this.s.updateSm(FILES.purchase.sfi, encodePurchase(view.purchase), ctx);
    return { view: await this.read(), cardCommands: 0 };
  }

  /** 擦卡: spec §9.5. Erases the application and gives the MF back its transport key: the card is blank again. */
  async format(): Promise<void> {
    const s = this.s;
    await s.samSelect();
    await s.selectApp();
    const info = await s.readInfo(this.serial());
    const ctx = ctxOf(info);
    await s.selectMf();
    await s.externalAuth('cardMaster', ctx);
    await expectOk(s.card, command(0x80, 0x0e, 0x00, 0x00), 'ERASE DF');
    await this.writeKey('transport', ctx, 'cardMaster');
  }
}

function sameRecord(a: PurchaseRecord, b: PurchaseRecord): boolean {
  return a.count === b.count && a.gas === b.gas && a.mac === b.mac && a.date === b.date;
}

/** Commands sent to the card so far, when the card channel keeps a log (emulator slots do). */
function countOf(s: CardSession): number {
  const chip = (s.card as { chip?: { log?: unknown[] } }).chip;
  return chip?.log?.length ?? 0;
}
