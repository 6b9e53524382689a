/**
 * The whole card life through the real PC/SC stack: the counter's terminal talks to libpcsclite (koffi), which
 * talks to pcscd, whose vsmartcard-vpcd reader driver talks over TCP to the COS emulator (card reader slot) and
 * to the PSAM emulator (second slot). Needs Debian's pcscd and vsmartcard-vpcd (.ci/run installs them).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CounterTerminal } from '../terminal/counter.ts';
import { PsamEmulator } from '../emulator/psam.ts';
import { blankCard, testKeySet, testTransportSet } from '../testing/fixtures.ts';
import { MeterSimulator } from '../emulator/meter-simulator.ts';
import { SamSlot } from '../terminal/slots.ts';
import { CARD_READER, PcscdHarness, SAM_READER } from './pcscd-harness.ts';

const h = new PcscdHarness();
beforeAll(() => h.start(), 30_000);
afterAll(() => h.stop());

const base = { companyCode: '0571', meterKind: 1 as const, issueDate: '20261203', keyVersion: 1 };

describe('company card through pcscd and vpcd', () => {
  for (const [algorithm, protocol] of [
    ['sm4', 'T0'],
    ['3des', 'T1'],
  ] as const) {
    it(`${algorithm} over ${protocol}: issue, sell 3× with meter loads, refund, reissue with blacklist, format`, async () => {
      const sets = [testTransportSet(algorithm), testKeySet(1, algorithm)];
      const psamChip = new PsamEmulator({ role: 'counter', keySets: sets, protocol });
      const psamPlug = await h.plug(psamChip, 1);
      const psam = await h.connect(SAM_READER);
      const esam = new SamSlot(new PsamEmulator({ role: 'meter', keySets: [testKeySet(1, algorithm)] }));
      const meter = new MeterSimulator('30000021', esam);

      const card1 = blankCard('5566778899AABBCC', algorithm, protocol);
      let plug = await h.plug(card1, 0);
      let card = await h.connect(CARD_READER);
      expect(card.protocol).toBe(protocol);
      expect(card.atr).toEqual(card1.atr);
      const counter = () => new CounterTerminal(card, psam, card.atr);

      const issued = await counter().issue({
        ...base,
        algorithm,
        cardNo: '770001',
        gas: 10,
        count: 1,
        date: '20261203090000',
      });
      expect(issued.view).toMatchObject({ genuine: true, unloadedGas: 10 });
      expect(await meter.insert(card, card.atr, '20261203100000')).toMatchObject({ outcome: 'loaded', loadedGas: 10 });
      for (const [count, gas] of [
        [2, 20],
        [3, 30],
      ] as const) {
        await counter().writePurchase({ gas, count, date: `2026120${count}090000` });
        meter.use(300);
        expect(await meter.insert(card, card.atr, `2026120${count}100000`)).toMatchObject({
          outcome: 'loaded',
          loadedGas: gas,
        });
      }
      const read = await counter().read();
      expect(read).toMatchObject({ writeBackVerified: true, unloadedGas: 0 });
      expect(read.writeBack).toMatchObject({ countSeen: 3, cumulative: 600, remaining: 5400 });

      await counter().writePurchase({ gas: 40, count: 4, date: '20261205090000' });
      expect((await counter().refund('20261205091000')).view.purchase).toMatchObject({ gas: 0, count: 4 });
      // an APDU through pcscd is counted by the PC/SC layer, as the benchmark will need
      expect(card.stats.apdus).toBeGreaterThan(50);

      // lost card: take it out of the reader, issue a replacement in the same reader
      await card.disconnect();
      await h.unplug(plug, CARD_READER);
      const card2 = blankCard('0102030405060708', algorithm, protocol);
      plug = await h.plug(card2, 0);
      card = await h.connect(CARD_READER);
      // the refunded count 4 never reached the meter, so the replacement carries the next sale at count 4
      await counter().issue({
        ...base,
        algorithm,
        cardNo: '770001',
        prevSerial: card1.serial,
        reissueCount: 1,
        gas: 5,
        count: 4,
        date: '20261206090000',
      });
      expect(await meter.insert(card, card.atr, '20261206100000')).toMatchObject({ outcome: 'loaded', loadedGas: 5 });
      expect(meter.blacklist.has(card1.serial)).toBe(true);

      await card.disconnect();
      await h.unplug(plug, CARD_READER);
      plug = await h.plug(card1, 0);
      card = await h.connect(CARD_READER);
      expect(await meter.insert(card, card.atr, '20261206110000')).toEqual({
        outcome: 'blacklisted',
        loadedGas: 0,
        wroteBack: false,
      });

      await card.disconnect();
      await h.unplug(plug, CARD_READER);
      plug = await h.plug(card2, 0);
      card = await h.connect(CARD_READER);
      await counter().format();
      await expect(counter().read()).rejects.toMatchObject({ code: 'COMPANY_CARD_NOT_OURS' });
      await card.disconnect();
      await h.unplug(plug, CARD_READER);
      await psam.disconnect();
      await h.unplug(psamPlug, SAM_READER);
    }, 120_000);
  }
});
