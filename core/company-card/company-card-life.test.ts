/**
 * A whole card life at the APDU level, for both algorithms and both transmission protocols: issue, three sales
 * each loaded by the meter with a MACed write-back, refund, reissue with blacklist, format. Every step goes
 * through the COS emulator's APDU interface and the PSAM/ESAM emulators' APDU interfaces.
 */
import { describe, expect, it } from 'vitest';
import { GAS_DF_FID, FILES, decodePurchase } from './records.ts';
import { blankCard, world } from './testing/fixtures.ts';

const base = { companyCode: '0571', meterKind: 1 as const, issueDate: '20261203', keyVersion: 1 };

for (const algorithm of ['sm4', '3des'] as const) {
  for (const protocol of ['T0', 'T1'] as const) {
    describe(`company card life (${algorithm}, ${protocol})`, () => {
      it('issue, sell 3×, meter loads each and writes back, refund, reissue with blacklist, format', async () => {
        const w = world(algorithm, { protocol });
        const card = blankCard('A1B2C3D4E5F60718', algorithm, protocol);
        const counter = w.counterFor(card);
        const issued = await counter.issue({
          ...base,
          algorithm,
          cardNo: '880001',
          gas: 20,
          count: 1,
          date: '20261203090000',
        });
        expect(issued.view).toMatchObject({ genuine: true, source: 'purchase', unloadedGas: 20, writeBack: null });
        expect(issued.view.info).toMatchObject({
          cardNo: '880001',
          serial: 'A1B2C3D4E5F60718',
          keyVersion: 1,
          algorithm,
        });
        expect(card.keyVersion(GAS_DF_FID, 0x02)).toBe(1);

        const meter = w.meter('30000001');
        expect(await w.insertInMeter(meter, card, '20261203100000')).toEqual({
          outcome: 'loaded',
          loadedGas: 20,
          wroteBack: true,
        });
        expect(meter.remaining).toBe(2000);
        meter.use(1234);

        for (const [i, gas] of [
          [2, 15],
          [3, 30],
        ] as const) {
          const c = w.counterFor(card);
          const before = await c.read();
          expect(before.unloadedGas).toBe(0); // the meter has loaded the last one
          expect(before.writeBackVerified).toBe(true);
          const sold = await c.writePurchase({ gas, count: i, date: `2026120${i}120000` });
          expect(sold.view.purchase).toMatchObject({ gas, count: i });
          expect(sold.view.unloadedGas).toBe(gas);
          expect(await w.insertInMeter(meter, card, `2026120${i}130000`)).toMatchObject({
            outcome: 'loaded',
            loadedGas: gas,
          });
          meter.use(500);
        }
        // 20 + 15 + 30 m³ loaded, 12.34 + 5 + 5 m³ used
        expect(meter.remaining).toBe(6500 - 2234);
        const read = await w.counterFor(card).read();
        expect(read.writeBackVerified).toBe(true);
        // the write-back shows the meter as it was when the card was last inserted (before the last 5 m³)
        expect(read.writeBack).toMatchObject({
          meterNo: '30000001',
          countSeen: 3,
          cumulative: 1734,
          remaining: 4766,
          lastCode: 0,
        });
        expect(read.writeBack?.months[0]).toBe(1734);

        // a fourth sale, not yet in the meter, is refunded: gas 0 at the same count
        await w.counterFor(card).writePurchase({ gas: 40, count: 4, date: '20261205090000' });
        const refunded = await w.counterFor(card).refund('20261205091000');
        expect(refunded.view.purchase).toMatchObject({ gas: 0, count: 4 });
        expect(refunded.view.unloadedGas).toBe(0);
        // the meter accepts the refunded count (0 m³) and stays in step
        expect(await w.insertInMeter(meter, card, '20261205100000')).toMatchObject({ outcome: 'loaded', loadedGas: 0 });
        expect(meter.lastCount).toBe(4);

        // the card is lost: a new chip, same card no., prevSerial = the old one, the next sale's count
        const lost = card;
        const card2 = blankCard('0F0E0D0C0B0A0908', algorithm, protocol);
        const reissued = await w.counterFor(card2).issue({
          ...base,
          algorithm,
          cardNo: '880001',
          prevSerial: lost.serial,
          reissueCount: 1,
          gas: 10,
          count: 5,
          date: '20261206090000',
        });
        expect(reissued.view.info.prevSerial).toBe('A1B2C3D4E5F60718');
        expect(await w.insertInMeter(meter, card2, '20261206100000')).toMatchObject({
          outcome: 'loaded',
          loadedGas: 10,
        });
        expect(meter.blacklist.has('A1B2C3D4E5F60718')).toBe(true);
        // the old card is refused outright, nothing written to it
        const oldWb = lost.peek(GAS_DF_FID, FILES.writeBack.fid);
        expect(await w.insertInMeter(meter, lost, '20261206110000')).toEqual({
          outcome: 'blacklisted',
          loadedGas: 0,
          wroteBack: false,
        });
        expect(lost.peek(GAS_DF_FID, FILES.writeBack.fid)).toEqual(oldWb);

        // format: the application is gone, the MF has its transport key again, and the card can be issued anew
        await w.counterFor(card2).format();
        await expect(w.counterFor(card2).read()).rejects.toMatchObject({ code: 'COMPANY_CARD_NOT_OURS' });
        const again = await w
          .counterFor(card2)
          .issue({ ...base, algorithm, cardNo: '880002', gas: 5, count: 1, date: '20261207090000' });
        expect(again.view.info.cardNo).toBe('880002');
        expect(decodePurchase(card2.peek(GAS_DF_FID, FILES.purchase.fid) ?? Buffer.alloc(0))).toMatchObject({
          gas: 5,
          count: 1,
        });
      });
    });
  }
}
