/**
 * Attacks and accidents that must fail safe (issue 19 "must show"), at the APDU level on the emulators.
 */
import { describe, expect, it } from 'vitest';
import { type ApduChannel, SW, command, exchange, parseResponse } from './apdu.ts';
import { CompanyCardRemoved } from './company-card-errors.ts';
import { type CompanyCos } from './emulator/company-cos.ts';
import { PsamEmulator, PSAM_AID } from './emulator/psam.ts';
import { FILES, GAS_AID, GAS_DF_FID, decodePurchase, decodeWriteBack, encodeWriteBack } from './records.ts';
import { CardSlot, SamSlot } from './terminal/slots.ts';
import { CounterTerminal } from './terminal/counter.ts';
import { blankCard, testKeySet, testTransportSet, world } from './testing/fixtures.ts';

const base = { companyCode: '0571', meterKind: 1 as const, issueDate: '20261203', algorithm: 'sm4' as const };
const SERIAL = '1122334455667788';

async function issued(opts: { keyVersion?: number; versions?: number[] } = {}) {
  const w = world('sm4', { versions: opts.versions ?? [1, 2] });
  const card = blankCard(SERIAL, 'sm4');
  await w
    .counterFor(card)
    .issue({ ...base, cardNo: '990001', keyVersion: opts.keyVersion ?? 1, gas: 20, count: 1, date: '20261203090000' });
  return { w, card };
}

/** A card channel that lets a test rewrite or watch commands in flight (a tampered reader, a sniffer). */
class Tap implements ApduChannel {
  readonly seen: Buffer[] = [];
  constructor(
    private readonly card: CompanyCos,
    private readonly edit?: (apdu: Buffer) => Buffer | 'pull-after',
  ) {}
  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    const a = Buffer.from(apdu);
    this.seen.push(a);
    const e = this.edit?.(a);
    if (e === 'pull-after') {
      this.card.transmit(a); // the command runs on the card…
      this.card.remove(); // …and the card leaves before its answer does
      throw CompanyCardRemoved();
    }
    return new CardSlot(this.card).transmit(e ?? a);
  }
}
const isUpdate = (a: Buffer, sfi: number) => a[1] === 0xd6 && a[2] === (0x80 | sfi);

describe('company card attacks', () => {
  it('gas changed in a purchase command in flight: the card refuses it (6988) and keeps the old record', async () => {
    const { w, card } = await issued();
    const tap = new Tap(card, (a) => {
      if (!isUpdate(a, FILES.purchaseBackup.sfi) && !isUpdate(a, FILES.purchase.sfi)) return a;
      const forged = Buffer.from(a);
      forged.writeUInt32BE(9999, 5 + 1); // the gas field of the record
      return forged;
    });
    const counter = new CounterTerminal(tap, new SamSlot(w.psam), card.reset());
    await expect(counter.writePurchase({ gas: 30, count: 2, date: '20261204090000' })).rejects.toMatchObject({
      code: 'COMPANY_CARD_STATUS',
      details: { sw: '6988' },
    });
    const view = await w.counterFor(card).read();
    expect(view.purchase).toMatchObject({ gas: 20, count: 1 });
  });

  it('gas changed on the chip itself (bypassing the COS): the meter finds the purchase MAC wrong and loads nothing', async () => {
    const { w, card } = await issued();
    for (const fid of [FILES.purchase.fid, FILES.purchaseBackup.fid]) {
      const rec = Buffer.from(card.peek(GAS_DF_FID, fid) ?? Buffer.alloc(0));
      rec.writeUInt32BE(9999, 1);
      card.poke(GAS_DF_FID, fid, 0, rec);
    }
    const meter = w.meter('30000002');
    expect(await w.insertInMeter(meter, card, '20261203100000')).toMatchObject({
      outcome: 'purchaseMacBad',
      loadedGas: 0,
    });
    expect(meter.remaining).toBe(0);
    expect((await w.counterFor(card).read()).purchase).toBeNull();
  });

  it('a recorded UPDATE BINARY replayed later is refused: the challenge it was MACed with is gone', async () => {
    const { w, card } = await issued();
    const tap = new Tap(card);
    await new CounterTerminal(tap, new SamSlot(w.psam), card.reset()).writePurchase({
      gas: 30,
      count: 2,
      date: '20261204090000',
    });
    const recorded = tap.seen.filter((a) => isUpdate(a, FILES.purchase.sfi));
    expect(recorded).toHaveLength(1);
    card.reset();
    const slot = new CardSlot(card);
    await exchange(slot, command(0x00, 0xa4, 0x04, 0x00, GAS_AID));
    await exchange(slot, command(0x00, 0x84, 0x00, 0x00, undefined, 4)); // a fresh challenge, not the recorded one
    expect((await exchange(slot, recorded[0] ?? Buffer.alloc(0))).sw).toBe(SW.SM_MAC_WRONG);
  });

  it('an old purchase (valid MAC, old count) copied back onto the card is refused by the meter by count', async () => {
    const { w, card } = await issued();
    const meter = w.meter('30000003');
    const oldRecord = card.peek(GAS_DF_FID, FILES.purchase.fid) ?? Buffer.alloc(0);
    expect(await w.insertInMeter(meter, card, '20261203100000')).toMatchObject({ outcome: 'loaded', loadedGas: 20 });
    // same record again: nothing new
    expect(await w.insertInMeter(meter, card, '20261203110000')).toMatchObject({ outcome: 'nothingNew', loadedGas: 0 });
    await w.counterFor(card).writePurchase({ gas: 30, count: 2, date: '20261204090000' });
    expect(await w.insertInMeter(meter, card, '20261204100000')).toMatchObject({ outcome: 'loaded', loadedGas: 30 });
    card.poke(GAS_DF_FID, FILES.purchase.fid, 0, oldRecord);
    card.poke(GAS_DF_FID, FILES.purchaseBackup.fid, 0, oldRecord);
    expect(await w.insertInMeter(meter, card, '20261204110000')).toMatchObject({ outcome: 'nothingNew', loadedGas: 0 });
    expect(meter.remaining).toBe(5000);
    expect(decodeWriteBack(card.peek(GAS_DF_FID, FILES.writeBack.fid) ?? Buffer.alloc(0))).toMatchObject({
      countSeen: 2,
      lastCode: 0x0001,
    });
  });

  it('a count that skips ahead is refused (countGap) and reported in the write-back', async () => {
    const { w, card } = await issued();
    await w.counterFor(card).writePurchase({ gas: 30, count: 3, date: '20261204090000' });
    const meter = w.meter('30000004');
    expect(await w.insertInMeter(meter, card, '20261204100000')).toMatchObject({ outcome: 'countGap', loadedGas: 0 });
    const view = await w.counterFor(card).read();
    expect(view.writeBack).toMatchObject({ countSeen: 0, lastCode: 0x0002 });
    expect(view.unloadedGas).toBe(30);
  });

  it("wrong key version: a PSAM or meter without the card's version refuses, and rotation keeps old cards working", async () => {
    const { card } = await issued({ keyVersion: 2 });
    const old = world('sm4', { versions: [1] });
    await expect(
      old.counterFor(card).writePurchase({ gas: 5, count: 2, date: '20261204090000' }),
    ).rejects.toMatchObject({ code: 'COMPANY_CARD_KEY_VERSION_UNKNOWN', details: { keyVersion: 2 } });
    const oldMeter = old.meter('30000005');
    const wbBefore = card.peek(GAS_DF_FID, FILES.writeBack.fid);
    expect(await old.insertInMeter(oldMeter, card, '20261204100000')).toMatchObject({
      outcome: 'keyVersionUnknown',
      wroteBack: false,
    });
    expect(card.peek(GAS_DF_FID, FILES.writeBack.fid)).toEqual(wbBefore);
    // a PSAM and a meter holding versions 1 and 2 serve both generations of cards
    const both = world('sm4', { versions: [1, 2] });
    const v1card = blankCard('8877665544332211', 'sm4');
    await both
      .counterFor(v1card)
      .issue({ ...base, cardNo: '990002', keyVersion: 1, gas: 7, count: 1, date: '20261204090000' });
    const meter = both.meter('30000006');
    expect(await both.insertInMeter(meter, card, '20261204100000')).toMatchObject({ outcome: 'loaded', loadedGas: 20 });
    const meter2 = both.meter('30000007');
    expect(await both.insertInMeter(meter2, v1card, '20261204100000')).toMatchObject({
      outcome: 'loaded',
      loadedGas: 7,
    });
  });

  it("a card made with someone else's keys (same serial, same files) is not genuine and the meter loads nothing", async () => {
    const { w } = await issued();
    const forger = new PsamEmulator({
      role: 'counter',
      keySets: [testTransportSet('sm4'), { ...testKeySet(1, 'sm4'), keys: { ...testKeySet(9, 'sm4').keys } }],
    });
    const fake = blankCard(SERIAL, 'sm4');
    await new CounterTerminal(new CardSlot(fake), new SamSlot(forger), fake.reset()).issue({
      ...base,
      cardNo: '990001',
      keyVersion: 1,
      gas: 500,
      count: 1,
      date: '20261203090000',
    });
    const meter = w.meter('30000008');
    expect(await w.insertInMeter(meter, fake, '20261203100000')).toMatchObject({
      outcome: 'notGenuine',
      loadedGas: 0,
      wroteBack: false,
    });
    expect((await w.counterFor(fake).read()).genuine).toBe(false);
  });

  it('card pulled after UPDATE BINARY of the purchase, before the read-back: reinserted, the new record is in force', async () => {
    const { w, card } = await issued();
    const tap = new Tap(card, (a) => (isUpdate(a, FILES.purchase.sfi) ? 'pull-after' : a));
    await expect(
      new CounterTerminal(tap, new SamSlot(w.psam), card.reset()).writePurchase({
        gas: 30,
        count: 2,
        date: '20261204090000',
      }),
    ).rejects.toMatchObject({ code: 'COMPANY_CARD_REMOVED' });
    const view = await w.counterFor(card).read();
    expect(view).toMatchObject({ source: 'purchase', needsRecovery: false, unloadedGas: 30 });
    expect(view.purchase).toMatchObject({ gas: 30, count: 2 });
  });

  it('card pulled between the backup and the purchase update: the backup is in force, recovery completes it', async () => {
    const { w, card } = await issued();
    const tap = new Tap(card, (a) => (isUpdate(a, FILES.purchaseBackup.sfi) ? 'pull-after' : a));
    await expect(
      new CounterTerminal(tap, new SamSlot(w.psam), card.reset()).writePurchase({
        gas: 30,
        count: 2,
        date: '20261204090000',
      }),
    ).rejects.toMatchObject({ code: 'COMPANY_CARD_REMOVED' });
    const view = await w.counterFor(card).read();
    expect(view).toMatchObject({ source: 'backup', needsRecovery: true });
    expect(view.purchase).toMatchObject({ gas: 30, count: 2 });
    // a meter seeing the card now already loads the new record
    const meterFirst = world('sm4', { versions: [1, 2] }).meter('30000009');
    meterFirst.lastCount = 1;
    expect(await w.insertInMeter(meterFirst, card, '20261204100000')).toMatchObject({
      outcome: 'loaded',
      loadedGas: 30,
    });
    const rec = await w.counterFor(card).recover();
    expect(rec.view).toMatchObject({ source: 'purchase', needsRecovery: false });
    expect(decodePurchase(card.peek(GAS_DF_FID, FILES.purchase.fid) ?? Buffer.alloc(0))).toMatchObject({
      gas: 30,
      count: 2,
    });
  });

  it('torn writes: half a backup keeps the old record, half a purchase record falls back to the backup', async () => {
    const { w, card } = await issued();
    card.reset();
    card.tearNextWrite(7); // the backup write is the first EEPROM write of the sale
    await expect(w.counterFor(card).writePurchase({ gas: 30, count: 2, date: '20261204090000' })).rejects.toMatchObject(
      { code: 'COMPANY_CARD_REMOVED' },
    );
    let view = await w.counterFor(card).read();
    expect(view.purchase).toMatchObject({ gas: 20, count: 1 }); // all old
    expect(view.source).toBe('purchase');

    // now the sale again, torn in the purchase file (second EEPROM write)
    const tap = new Tap(card, (a) => {
      if (isUpdate(a, FILES.purchase.sfi)) card.tearNextWrite(9);
      return a;
    });
    await expect(
      new CounterTerminal(tap, new SamSlot(w.psam), card.reset()).writePurchase({
        gas: 30,
        count: 2,
        date: '20261204090000',
      }),
    ).rejects.toMatchObject({ code: 'COMPANY_CARD_REMOVED' });
    view = await w.counterFor(card).read();
    expect(view).toMatchObject({ source: 'backup', needsRecovery: true }); // all new
    expect(view.purchase).toMatchObject({ gas: 30, count: 2 });
    await w.counterFor(card).recover();
    expect((await w.counterFor(card).read()).source).toBe('purchase');
  });

  it('PSAM removed mid-sale: the sale stops (COMPANY_CARD_PSAM_MISSING); the card is wholly old, or wholly new', async () => {
    // A sale takes 13 PSAM commands under T=0 (with GET RESPONSEs); the backup is written after the 10th.
    // Before that nothing is written; after it the new record is in force and the read-back the ledger makes
    // before confirming says so (spec §4.4, §9.2).
    for (const [afterPsamCommands, inForce] of [
      [3, 1],
      [6, 1],
      [9, 1],
      [11, 2],
    ] as const) {
      const { w, card } = await issued();
      const before = card.peek(GAS_DF_FID, FILES.purchase.fid);
      let seen = 0;
      const psamSlot: ApduChannel = {
        transmit: async (apdu) => {
          if (++seen > afterPsamCommands) w.psam.remove();
          return new SamSlot(w.psam).transmit(apdu);
        },
      };
      const counter = new CounterTerminal(new CardSlot(card), psamSlot, card.reset());
      await expect(counter.writePurchase({ gas: 30, count: 2, date: '20261204090000' })).rejects.toMatchObject({
        code: 'COMPANY_CARD_PSAM_MISSING',
      });
      expect(card.peek(GAS_DF_FID, FILES.purchase.fid)).toEqual(before); // the purchase file itself is untouched
      w.psam.reset();
      const view = await w.counterFor(card).read();
      expect(view.purchase?.count).toBe(inForce);
      expect(view.needsRecovery).toBe(inForce === 2);
    }
  });

  it('a forged write-back (more gas left, less used) is detected: its MAC does not verify', async () => {
    const { w, card } = await issued();
    const meter = w.meter('30000010');
    await w.insertInMeter(meter, card, '20261203100000');
    meter.use(700);
    await w.counterFor(card).writePurchase({ gas: 10, count: 2, date: '20261204090000' });
    await w.insertInMeter(meter, card, '20261204100000');
    const honest = await w.counterFor(card).read();
    expect(honest.writeBackVerified).toBe(true);
    const wb = honest.writeBack;
    if (!wb) throw new Error('no write-back');
    card.poke(
      GAS_DF_FID,
      FILES.writeBack.fid,
      0,
      encodeWriteBack({ ...wb, remaining: wb.remaining + 10_000, months: wb.months.map(() => 0) }),
    );
    const forged = await w.counterFor(card).read();
    expect(forged.writeBackVerified).toBe(false);
    expect(forged.writeBack?.remaining).toBe(wb.remaining + 10_000);
  });

  it('rights: a counter PSAM cannot MAC a write-back, a meter ESAM cannot MAC a purchase or export keys', async () => {
    const counter = new PsamEmulator({ role: 'counter', keySets: [testKeySet(1, 'sm4')] });
    const esam = new PsamEmulator({ role: 'meter', keySets: [testKeySet(1, 'sm4')] });
    const factors = Buffer.from('0000000000990001' + SERIAL, 'hex');
    const run = (p: PsamEmulator, ...apdus: Buffer[]) => apdus.map((a) => parseResponse(p.transmit(a)).sw);
    const sel = command(0x00, 0xa4, 0x04, 0x00, PSAM_AID);
    const mac = command(0x80, 0xfa, 0x05, 0x00, Buffer.alloc(32), 0);
    expect(run(counter, sel, command(0x80, 0x1a, 0x05, 1, factors), mac)).toEqual([
      SW.OK,
      SW.OK,
      SW.SECURITY_NOT_SATISFIED,
    ]);
    expect(run(esam, sel, command(0x80, 0x1a, 0x04, 1, factors), mac)).toEqual([
      SW.OK,
      SW.OK,
      SW.SECURITY_NOT_SATISFIED,
    ]);
    const exportKey = command(0x80, 0x1c, 0x02, 1, Buffer.alloc(17), 0);
    expect(run(esam, command(0x80, 0x1a, 0x02, 1, factors), exportKey)).toEqual([SW.OK, SW.SECURITY_NOT_SATISFIED]);
    // and the key it lacks is a stable 6A88, not a guess
    expect(run(esam, command(0x80, 0x1a, 0x02, 7, factors))).toEqual([SW.KEY_NOT_FOUND]);
  });

  it('external authentication with a wrong key counts down (63Cx) and a wrong-key writer gets nothing written', async () => {
    const { card } = await issued();
    const slot = new CardSlot(card);
    card.reset();
    await exchange(slot, command(0x00, 0xa4, 0x04, 0x00, GAS_AID));
    await exchange(slot, command(0x00, 0x84, 0x00, 0x00, undefined, 8));
    expect((await exchange(slot, command(0x00, 0x82, 0x00, 0x02, Buffer.alloc(16)))).sw).toBe(0x63ce);
    expect(card.triesLeft(GAS_DF_FID, 0x02)).toBe(14);
    // no challenge, no authentication
    expect((await exchange(slot, command(0x00, 0x82, 0x00, 0x02, Buffer.alloc(16)))).sw).toBe(
      SW.REFERENCED_DATA_INVALID,
    );
    // a plain UPDATE (no SM) of the purchase file is refused
    expect((await exchange(slot, command(0x00, 0xd6, 0x82, 0x00, Buffer.alloc(18)))).sw).toBe(
      SW.SECURITY_NOT_SATISFIED,
    );
  });

  it('another card (no gas application) is not taken for ours', async () => {
    const w = world('sm4');
    const blank = blankCard('0102030405060708', 'sm4');
    await expect(w.counterFor(blank).read()).rejects.toMatchObject({ code: 'COMPANY_CARD_NOT_OURS' });
    const meter = w.meter('30000011');
    expect(await w.insertInMeter(meter, blank, '20261203100000')).toMatchObject({
      outcome: 'notOurs',
      wroteBack: false,
    });
  });
});
