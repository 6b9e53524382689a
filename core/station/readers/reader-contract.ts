/**
 * The reader contract suite (MQTT.js abstract-store style): every ReaderDriver runs the same tests through a
 * harness that can put cards in its slot and look at them from the outside. sim runs it in-process, mwic
 * through koffi against the stand-in library (替身库). Includes the chip behaviours the station relies on.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isMeterHubError, type MeterHubError } from '../../errors/meterhub-error.ts';
import { At88sc102, type At88sc102FactoryOptions } from '../chips/at88sc102.ts';
import type { CardImage } from '../chips/card-image.ts';
import { fromHex, popcount8, toHex } from '../chips/hex.ts';
import { Sle4442, type Sle4442FactoryOptions } from '../chips/sle4442.ts';
import { formatCard, readRawCard, writeCard } from './card-io.ts';
import type { ReaderDriver, ReaderEventName, SamSlot } from './reader-driver.ts';

export type HarnessCard =
  | { type: '4442'; options?: Sle4442FactoryOptions }
  | { type: '102'; options?: At88sc102FactoryOptions }
  | { type: 'cpu' }
  | { image: CardImage };

export interface ReaderHarness {
  reader: ReaderDriver;
  insert(card: HarnessCard): Promise<void>;
  remove(): Promise<void>;
  /** The memory card in the slot, or the one last removed. */
  image(): Promise<CardImage | null>;
  /** The card leaves the slot when the (n+1)th EEPROM write is attempted. */
  pullAfterWrites(n: number): Promise<void>;
  /** The reader disappears. */
  disconnect(): Promise<void>;
  insertSam(slot: SamSlot): Promise<void>;
  dispose(): Promise<void>;
}

/** Turns a factory spec into an image with the TS chip emulator (so every harness starts from the same bytes). */
export function imageOf(card: HarnessCard): CardImage | null {
  if ('image' in card) return card.image;
  if (card.type === '4442') return Sle4442.factory(card.options).toImage();
  if (card.type === '102') return At88sc102.factory(card.options).toImage();
  return null;
}

async function failure(p: Promise<unknown>): Promise<MeterHubError> {
  try {
    await p;
  } catch (e) {
    if (isMeterHubError(e)) return e;
    throw e;
  }
  throw new Error('expected a MeterHubError');
}

/** No secret in any form an error can take. */
function expectNoSecret(e: MeterHubError | undefined, ...secrets: string[]): void {
  if (!e) return;
  const text = `${e.message} ${JSON.stringify(e.toJSON())} ${e.stack ?? ''}`.toUpperCase();
  for (const s of secrets) expect(text).not.toContain(s.toUpperCase());
}

const APP = (fill: (i: number) => number): string => {
  const b = new Uint8Array(256).fill(0xff);
  for (let i = 0x20; i < 256; i++) b[i] = fill(i) & 0xff;
  return toHex(b);
};

function data102(pub: Uint8Array, az1: Uint8Array, az2: Uint8Array): string {
  return toHex(pub) + toHex(az1) + toHex(az2);
}

function main4442(img: CardImage | null): Uint8Array {
  if (!img || img.chip !== 'sle4442') throw new Error('expected a 4442 image');
  return fromHex(img.main);
}

function mem102(img: CardImage | null): Uint8Array {
  if (!img || img.chip !== 'at88sc102') throw new Error('expected a 102 image');
  return fromHex(img.memory);
}

function waitEvent(r: ReaderDriver, ev: ReaderEventName, ms = 5000): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${ev} event within ${ms} ms`)), ms);
    const fn = (...a: unknown[]) => {
      clearTimeout(t);
      r.off(ev, fn as never);
      resolve(a);
    };
    r.on(ev, fn as never);
  });
}

export function readerContract(name: string, make: () => Promise<ReaderHarness>): void {
  describe(`reader contract: ${name}`, () => {
    let h: ReaderHarness;
    let r: ReaderDriver;
    beforeEach(async () => {
      h = await make();
      r = h.reader;
      await r.open();
    });
    afterEach(async () => {
      await r.close().catch(() => undefined);
      await h.dispose();
    });

    // ---- basics ----------------------------------------------------------------------------------------

    it('needs an open reader; an empty slot is "none" and READER_NO_CARD', async () => {
      expect(r.isOpen).toBe(true);
      expect(await r.detectCard()).toBe('none');
      expect(await r.cardPresent()).toBe(false);
      expect((await failure(readRawCard(r))).code).toBe('READER_NO_CARD');
      expect((await failure(r.read4442(0, 4))).code).toBe('READER_NO_CARD');
      await r.close();
      expect((await failure(r.cardPresent())).code).toBe('READER_NOT_OPEN');
    });

    it('detects card types and refuses the wrong one', async () => {
      await h.insert({ type: '4442' });
      expect(await r.detectCard()).toBe('4442');
      expect((await failure(r.read102(0, 0, 2))).code).toBe('READER_WRONG_CARD_TYPE');
      await h.insert({ type: '102' });
      expect(await r.detectCard()).toBe('102');
      await h.insert({ type: 'cpu' });
      expect(await r.detectCard()).toBe('cpu');
      await h.remove();
      expect(await r.detectCard()).toBe('none');
    });

    it('insertionId stays while the card stays and changes once the card was taken out', async () => {
      const ins = waitEvent(r, 'inserted');
      await h.insert({ type: '4442' });
      await ins;
      expect(await r.detectCard()).toBe('4442');
      const first = r.insertionId();
      expect(first).not.toBeNull();
      await r.read4442(0, 8);
      expect(r.insertionId()).toBe(first);
      const rem = waitEvent(r, 'removed');
      await h.remove();
      await rem;
      expect(await r.detectCard()).toBe('none');
      const again = waitEvent(r, 'inserted');
      await h.insert({ type: '4442' });
      await again;
      expect(await r.detectCard()).toBe('4442');
      const second = r.insertionId();
      expect(second).not.toBeNull();
      expect(second).not.toBe(first);
    });

    it('emits inserted and removed', async () => {
      const ins = waitEvent(r, 'inserted');
      await h.insert({ type: '4442' });
      expect(await ins).toEqual([{ cardType: '4442' }]);
      const rem = waitEvent(r, 'removed');
      await h.remove();
      await rem;
    });

    // ---- SLE4442 ------------------------------------------------------------------------------------------

    it('4442: readRawCard gives the 512-hex main memory, the seller code as identity and the counter', async () => {
      await h.insert({ type: '4442', options: { serial: 'C0FFEE001122' } });
      const raw = await readRawCard(r);
      expect(raw.cardType).toBe('4442');
      if (raw.cardType !== '4442') return;
      expect(raw.data).toMatch(/^A2131091460B8115[0-9A-F]{496}$/);
      expect(raw.data.slice(0x15 * 2, 0x1b * 2)).toBe('C0FFEE001122');
      expect(raw.chipSerial).toBe('C0FFEE001122');
      expect(raw.attemptsLeft).toBe(3);
      expect(raw.protection).toBe('00FFFFFF');
      expect(await r.identify()).toEqual({ chipSerial: 'C0FFEE001122', source: 'factory-code', unique: false });
    });

    it('4442: locks after 3 wrong PSCs and stays readable', async () => {
      await h.insert({ type: '4442', options: { psc: 'A5C3E1' } });
      const left: number[] = [];
      for (let i = 0; i < 3; i++) {
        const e = await failure(r.verify4442(fromHex('010203')));
        expect(e.code).toBe('READER_WRONG_PASSWORD');
        expectNoSecret(e, 'A5C3E1', '010203');
        left.push(e.details?.attemptsLeft as number);
      }
      expect(left).toEqual([2, 1, 0]);
      const locked = await failure(r.verify4442(fromHex('A5C3E1')));
      expect(locked.code).toBe('READER_CARD_LOCKED');
      expect((await r.readErrorCounter4442()).attemptsLeft).toBe(0);
      expect(toHex(await r.read4442(0, 4))).toBe('A2131091');
      expect((await failure(r.write4442(0x40, Uint8Array.of(0)))).code).toBe('READER_WRITE_FAILED');
      expect(((await h.image()) as { errorCounter: number }).errorCounter).toBe(0);
    });

    it('4442: a correct PSC after two wrong ones resets the counter', async () => {
      await h.insert({ type: '4442' });
      await failure(r.verify4442(fromHex('000000')));
      await failure(r.verify4442(fromHex('000000')));
      expect((await r.readErrorCounter4442()).attemptsLeft).toBe(1);
      expect((await r.verify4442(fromHex('FFFFFF'))).attemptsLeft).toBe(3);
      expect(((await h.image()) as { errorCounter: number }).errorCounter).toBe(7);
      expect(toHex(await r.readPsc4442())).toBe('FFFFFF');
    });

    it('4442: writes need the PSC; the PSC reads 000000 before verification', async () => {
      await h.insert({ type: '4442', options: { psc: '13579B' } });
      expect(toHex(await r.readPsc4442())).toBe('000000');
      const e = await failure(r.write4442(0x30, Uint8Array.of(1, 2, 3)));
      expect(e.code).toBe('READER_WRITE_FAILED');
      expect(e.details).toMatchObject({ offset: 0x30, reason: 'not-verified' });
      expect((await failure(r.changePsc4442(fromHex('000000')))).code).toBe('READER_NOT_VERIFIED');
      await r.verify4442(fromHex('13579B'));
      await r.write4442(0x30, Uint8Array.of(1, 2, 3));
      expect(toHex(await r.read4442(0x30, 3))).toBe('010203');
    });

    it('4442: protected bytes cannot change', async () => {
      await h.insert({ type: '4442', options: { protection: '00FFFFFF' } });
      await r.verify4442(fromHex('FFFFFF'));
      const e0 = await failure(r.write4442(0x02, Uint8Array.of(0x55)));
      expect(e0.details).toMatchObject({ offset: 2, reason: 'protected' });
      await r.write4442(0x1c, Uint8Array.of(0x42));
      expect((await failure(r.writeProtection4442(0x1c, Uint8Array.of(0x43)))).code).toBe('READER_WRITE_FAILED');
      await r.writeProtection4442(0x1c, Uint8Array.of(0x42));
      expect(toHex(await r.readProtection4442())).toBe('00FFFFEF');
      const e = await failure(r.write4442(0x1c, Uint8Array.of(0x99)));
      expect(e.details).toMatchObject({ offset: 0x1c, reason: 'protected' });
      expect(toHex(await r.read4442(0x1c, 1))).toBe('42');
    });

    it('4442: writeCard verifies once, writes only changed bytes, changes the PSC, reads back', async () => {
      await h.insert({ type: '4442' });
      const target = APP((i) => i * 7);
      const res = await writeCard(r, { cardType: '4442', data: target, oldKey: 'FFFFFF', newKey: '2468AC' });
      expect(res).toMatchObject({ ok: true, cardState: 'written-verified', passwordChanged: true, attemptsLeft: 3 });
      expect(res.steps.filter((s) => s.step === 'verify-password')).toHaveLength(1);
      const expectedChanged = [...fromHex(target)].slice(0x20).filter((b) => b !== 0xff).length;
      expect(res.bytesWritten).toBe(expectedChanged);
      const img = (await h.image()) as { main: string; psc: string; errorCounter: number };
      expect(img.main.slice(0x40)).toBe(target.slice(0x40));
      expect(img.main.slice(0, 0x40)).not.toBe(target.slice(0, 0x40)); // 0x00-0x1F untouched
      expect(img.psc).toBe('2468AC');
      // A purchase changing 3 bytes writes 3 bytes.
      const next = fromHex(target);
      next[0x50] = 0;
      next[0x51] = 1;
      next[0x90] = 2;
      const res2 = await writeCard(r, { cardType: '4442', data: toHex(next), oldKey: '2468AC', newKey: '2468AC' });
      expect(res2).toMatchObject({ ok: true, cardState: 'written-verified', bytesWritten: 3, passwordChanged: false });
    });

    it('4442: writeCard never retries a wrong password', async () => {
      await h.insert({ type: '4442', options: { psc: 'B62307' } });
      const before = await h.image();
      const res = await writeCard(r, { cardType: '4442', data: APP(() => 0), oldKey: 'FFFFFF', newKey: '123456' });
      expect(res).toMatchObject({
        ok: false,
        failedStep: 'verify-password',
        cardState: 'untouched',
        attemptsLeft: 2,
        bytesWritten: 0,
      });
      expect(res.error?.code).toBe('READER_WRONG_PASSWORD');
      expectNoSecret(res.error, 'B62307', 'FFFFFF', '123456');
      const after = (await h.image()) as { main: string; errorCounter: number };
      expect(popcount8(after.errorCounter)).toBe(2); // exactly one attempt spent
      expect(after.main).toBe((before as { main: string }).main);
    });

    it('4442: writeCard on a locked card stops before any compare', async () => {
      await h.insert({ type: '4442', options: { errorCounter: 0 } });
      const res = await writeCard(r, { cardType: '4442', data: APP(() => 1), oldKey: 'FFFFFF' });
      expect(res).toMatchObject({ ok: false, failedStep: 'read-counter', cardState: 'untouched' });
      expect(res.error?.code).toBe('READER_CARD_LOCKED');
      expect(((await h.image()) as { errorCounter: number }).errorCounter).toBe(0);
    });

    it('4442: a card pulled mid-write is reported with the step and left partially written', async () => {
      await h.insert({ type: '4442' });
      const target = APP((i) => i);
      await h.pullAfterWrites(2 + 5); // the PSC check takes 2 EEPROM writes, then 5 data bytes
      const res = await writeCard(r, { cardType: '4442', data: target, oldKey: 'FFFFFF', newKey: '111111' });
      expect(res).toMatchObject({
        ok: false,
        failedStep: 'write',
        cardState: 'partially-written',
        passwordChanged: false,
      });
      expect(res.error?.code).toBe('READER_CARD_REMOVED');
      const m = main4442(await h.image());
      expect(toHex(m.subarray(0x20, 0x25))).toBe('2021222324');
      expect(toHex(m.subarray(0x25, 0x28))).toBe('FFFFFF');
      expect(await r.detectCard()).toBe('none');
    });

    it('4442: a card pulled during the password change is reported as password unknown', async () => {
      await h.insert({ type: '4442' });
      const target = APP((i) => (i < 0x24 ? 0 : 0xff));
      await h.pullAfterWrites(2 + 4 + 1);
      const res = await writeCard(r, { cardType: '4442', data: target, oldKey: 'FFFFFF', newKey: '123456' });
      expect(res).toMatchObject({
        ok: false,
        failedStep: 'change-password',
        cardState: 'written-password-unknown',
        bytesWritten: 4,
      });
      expect(res.error?.code).toBe('READER_CARD_REMOVED');
    });

    it('4442: formatCard blanks 0x20-0xFF and restores the factory PSC', async () => {
      await h.insert({ type: '4442' });
      await writeCard(r, { cardType: '4442', data: APP((i) => i), oldKey: 'FFFFFF', newKey: 'ABCDEF' });
      const res = await formatCard(r, { cardType: '4442', oldKey: 'ABCDEF' });
      expect(res).toMatchObject({ ok: true, cardState: 'written-verified', passwordChanged: true });
      const img = (await h.image()) as { main: string; psc: string };
      expect(img.main.slice(0x40)).toBe('FF'.repeat(224));
      expect(img.psc).toBe('FFFFFF');
    });

    it('writeCard rejects malformed input before touching the card', async () => {
      await h.insert({ type: '4442' });
      const before = await h.image();
      for (const req of [
        { cardType: '4442' as const, data: 'XY', oldKey: 'FFFFFF' },
        { cardType: '4442' as const, data: APP(() => 0), oldKey: 'FFFFF' },
        { cardType: '102' as const, data: 'FF'.repeat(150), oldKey: 'F0F0:FFFF:FF' },
      ]) {
        const e = await failure(writeCard(r, req));
        expect(e.code).toBe('READER_BAD_DATA');
        expectNoSecret(e, 'FFFFF');
      }
      expect(await h.image()).toEqual(before);
    });

    // ---- AT88SC102 -----------------------------------------------------------------------------------------

    it('102: public zone without the SC, all 300 hex with it; SC masked before verification', async () => {
      await h.insert({ type: '102', options: { iz: '3201000000000001' } });
      const pub = await readRawCard(r);
      expect(pub).toMatchObject({
        cardType: '102',
        data: null,
        attemptsLeft: 4,
        ec2Left: 128,
        chipSerial: '3201000000000001',
      });
      if (pub.cardType !== '102') return;
      expect(pub.publicZone).toBe(`0F0F3201000000000001${'0000'}FFFF${'FF'.repeat(8)}`);
      const full = await readRawCard(r, { key102: 'F0F0' });
      if (full.cardType !== '102') throw new Error('102 expected');
      expect(full.data).toMatch(/^[0-9A-F]{300}$/);
      expect(full.data?.slice(0, 44)).toBe(pub.publicZone);
      expect(full.data?.slice(44)).toBe('FF'.repeat(128));
      const e = await failure(readRawCard(r, { key102: '1234' }));
      expect(e.code).toBe('READER_WRONG_PASSWORD');
      expect(e.details?.attemptsLeft).toBe(3);
    });

    it('102: locks after 4 wrong SCs; the public zone stays readable', async () => {
      await h.insert({ type: '102', options: { sc: '5A5A' } });
      const left: number[] = [];
      for (let i = 0; i < 4; i++) {
        const e = await failure(r.verify102(fromHex('1111')));
        expectNoSecret(e, '5A5A', '1111');
        left.push(e.details?.attemptsLeft as number);
      }
      expect(left).toEqual([3, 2, 1, 0]);
      expect((await failure(r.verify102(fromHex('5A5A')))).code).toBe('READER_CARD_LOCKED');
      expect((await r.readScac102()).attemptsLeft).toBe(0);
      expect(toHex(await r.read102(0, 12, 1))).toBe('0F');
      expect(toHex(await r.read102(0, 0, 2))).toBe('0F0F');
    });

    it('102: a correct SC after wrong ones resets SCAC', async () => {
      await h.insert({ type: '102' });
      await failure(r.verify102(fromHex('0000')));
      await failure(r.verify102(fromHex('0000')));
      expect((await r.verify102(fromHex('F0F0'))).attemptsLeft).toBe(4);
    });

    it('102: setting bits back to 1 needs an erase, and the erase needs the erase key', async () => {
      await h.insert({ type: '102', options: { ez1: 'A1A2A3A4A5A6' } });
      await r.verify102(fromHex('F0F0'));
      await r.write102(1, 4, Uint8Array.of(0x0f, 0x00));
      const e = await failure(r.write102(1, 4, Uint8Array.of(0xf0)));
      expect(e.details).toMatchObject({ reason: 'needs-erase', offset: 22 + 4 });
      const k = await failure(r.eraseZone102(1, fromHex('FFFFFFFFFFFF')));
      expect(k.code).toBe('READER_WRONG_ERASE_KEY');
      expectNoSecret(k, 'A1A2A3A4A5A6');
      // The refused write still cleared what it could (0F & F0): that is how the chip behaves.
      expect(toHex(await r.read102(1, 4, 2))).toBe('0000');
      await r.eraseZone102(1, fromHex('A1A2A3A4A5A6'));
      expect(toHex(await r.read102(1, 0, 64))).toBe('FF'.repeat(64));
      expect(toHex(mem102(await h.image()).subarray(86, 92))).toBe('A1A2A3A4A5A6'); // EZ1 untouched
    });

    it('102: EC2 runs out after 128 AZ2 erases', async () => {
      await h.insert({ type: '102' });
      await r.verify102(fromHex('F0F0'));
      expect(await r.readEc2102()).toEqual({ enabled: true, left: 128 });
      for (let i = 0; i < 128; i++) await r.eraseZone102(2, fromHex('FFFFFFFF'));
      expect((await r.readEc2102()).left).toBe(0);
      const e = await failure(r.eraseZone102(2, fromHex('FFFFFFFF')));
      expect(e.code).toBe('READER_EC2_EXHAUSTED');
      await r.write102(2, 0, Uint8Array.of(0x00));
      expect((await failure(r.write102(2, 0, Uint8Array.of(0xff)))).details).toMatchObject({ reason: 'needs-erase' });
      await r.eraseZone102(1, fromHex('FFFFFFFFFFFF')); // AZ1 has no erase counter
    }, 120_000);

    it('102: writeCard erases only the zones that need it, with the SC:EZ1:EZ2 keys, and changes the SC', async () => {
      const keys = { sc: '1A2B', ez1: '0123456789AB', ez2: 'CDEF0123' };
      await h.insert({ type: '102', options: keys });
      const oldKey = `${keys.sc}:${keys.ez1}:${keys.ez2}`;
      const pub = fromHex(`0F0F${'FF'.repeat(8)}0000FFFF${'FF'.repeat(8)}`);
      pub.set(fromHex('11223344'), 14); // CPZ
      const az1 = new Uint8Array(64).fill(0xff);
      az1.set(fromHex('C0000102'), 0);
      az1[10] = 0x55;
      const az2 = new Uint8Array(64).fill(0xff);
      az2[5] = 0x0f;
      const res = await writeCard(r, {
        cardType: '102',
        data: data102(pub, az1, az2),
        oldKey,
        newKey: `9F9F:${keys.ez1}:${keys.ez2}`,
      });
      expect(res).toMatchObject({ ok: true, cardState: 'written-verified', passwordChanged: true });
      expect(res.steps.map((s) => s.step)).not.toContain('erase-zone2'); // a blank zone only needs bits cleared
      let m = mem102(await h.image());
      expect(toHex(m.subarray(14, 18))).toBe('11223344');
      expect(toHex(m.subarray(10, 12))).toBe('9F9F');
      expect(m[22 + 10]).toBe(0x55);
      // Next sale: AZ1 must set bits back (erase), AZ2 unchanged: EC2 is not spent.
      az1[10] = 0xaa;
      const res2 = await writeCard(r, {
        cardType: '102',
        data: data102(pub, az1, az2),
        oldKey: `9F9F:${keys.ez1}:${keys.ez2}`,
      });
      expect(res2).toMatchObject({ ok: true, cardState: 'written-verified', ec2Left: 128 });
      expect(res2.steps.map((s) => s.step)).toContain('erase-zone1');
      // AZ2 change that needs an erase spends exactly one EC2 bit.
      az2[5] = 0xf0;
      const res3 = await writeCard(r, {
        cardType: '102',
        data: data102(pub, az1, az2),
        oldKey: `9F9F:${keys.ez1}:${keys.ez2}`,
      });
      expect(res3).toMatchObject({ ok: true, ec2Left: 127 });
      m = mem102(await h.image());
      expect(m[92 + 5]).toBe(0xf0);
      expect(m[22 + 10]).toBe(0xaa);
      expectNoSecret(res3.error, keys.ez1);
    });

    it('102: writeCard with EC2 used up stops before writing anything', async () => {
      const c = At88sc102.factory();
      c.verifySc(fromHex('F0F0'));
      c.writeByte(92, 0x00);
      for (let i = 0; i < 128; i++) c.presentEraseKey(2, fromHex('FFFFFFFF'));
      c.powerOff();
      await h.insert({ image: c.toImage() });
      const before = await h.image();
      const az1 = new Uint8Array(64).fill(0x11);
      const az2 = new Uint8Array(64).fill(0xff);
      const pub = fromHex(`0F0F${'FF'.repeat(20)}`);
      const res = await writeCard(r, { cardType: '102', data: data102(pub, az1, az2), oldKey: 'F0F0' });
      expect(res).toMatchObject({ ok: false, failedStep: 'erase-zone2', cardState: 'untouched', ec2Left: 0 });
      expect(res.error?.code).toBe('READER_EC2_EXHAUSTED');
      const after = mem102(await h.image());
      expect(toHex(after.subarray(22, 156))).toBe(toHex(mem102(before).subarray(22, 156)));
    });

    it('102: writeCard never retries a wrong SC', async () => {
      await h.insert({ type: '102', options: { sc: '7777' } });
      const res = await writeCard(r, {
        cardType: '102',
        data: data102(fromHex(`0F0F${'FF'.repeat(20)}`), new Uint8Array(64), new Uint8Array(64)),
        oldKey: 'F0F0',
      });
      expect(res).toMatchObject({ ok: false, failedStep: 'verify-password', cardState: 'untouched', attemptsLeft: 3 });
      expect((await r.readScac102()).attemptsLeft).toBe(3);
      expectNoSecret(res.error, '7777', 'F0F0');
    });

    it('102: a card pulled mid-write names the step', async () => {
      await h.insert({ type: '102' });
      await h.pullAfterWrites(2 + 3); // SC check = 2 writes, then 3 AZ1 bytes
      const az1 = new Uint8Array(64).fill(0x00);
      const res = await writeCard(r, {
        cardType: '102',
        data: data102(fromHex(`0F0F${'FF'.repeat(20)}`), az1, new Uint8Array(64).fill(0xff)),
        oldKey: 'F0F0',
      });
      expect(res).toMatchObject({ ok: false, failedStep: 'write-zone1', cardState: 'partially-written' });
      expect(res.error?.code).toBe('READER_CARD_REMOVED');
    });

    it('102: formatCard erases AZ1/AZ2, blanks the CPZ and restores F0F0', async () => {
      await h.insert({ type: '102' });
      const pub = fromHex(`0F0F${'FF'.repeat(12)}0102030405060708`);
      await writeCard(r, {
        cardType: '102',
        data: data102(pub, new Uint8Array(64).fill(0x12), new Uint8Array(64).fill(0x34)),
        oldKey: 'F0F0',
        newKey: '4321',
      });
      const res = await formatCard(r, { cardType: '102', oldKey: '4321' });
      expect(res).toMatchObject({ ok: true, cardState: 'written-verified', passwordChanged: true });
      const m = mem102(await h.image());
      expect(toHex(m.subarray(14, 86))).toBe('FF'.repeat(72));
      expect(toHex(m.subarray(92, 156))).toBe('FF'.repeat(64));
      expect(toHex(m.subarray(10, 12))).toBe('F0F0');
    });

    // ---- CPU / PSAM ------------------------------------------------------------------------------------------

    it('CPU card and PSAM slots exchange APDUs', async () => {
      await h.insert({ type: 'cpu' });
      const atr = await r.cpuReset();
      expect(atr[0]).toBe(0x3b);
      expect(toHex(await r.cpuApdu(fromHex('00A404000E315041592E5359532E4444463031')))).toBe('9000');
      const ch = await r.cpuApdu(fromHex('0084000008'));
      expect(ch.length).toBe(10);
      expect(toHex(ch.subarray(8))).toBe('9000');
      expect(await r.samPresent(1)).toBe(false);
      expect((await failure(r.samReset(1))).code).toBe('READER_NO_CARD');
      await h.insertSam(1);
      expect(await r.samPresent(1)).toBe(true);
      expect((await r.samReset(1))[0]).toBe(0x3b);
      expect(toHex(await r.samApdu(1, fromHex('00A4000002DF01')))).toBe('9000');
      expect(toHex(await r.samApdu(1, fromHex('80CA000000')))).toBe('6D00');
    });

    // ---- reader gone ---------------------------------------------------------------------------------------

    it('reader gone: READER_GONE and a gone event', async () => {
      await h.insert({ type: '4442' });
      const gone = waitEvent(r, 'gone');
      await h.disconnect();
      const e = await failure(r.read4442(0, 4));
      expect(e.code).toBe('READER_GONE');
      expect(e.status).toBe(503);
      await gone;
      const w = await writeCard(r, { cardType: '4442', data: APP(() => 0), oldKey: 'FFFFFF' });
      expect(w).toMatchObject({ ok: false, failedStep: 'check-card', cardState: 'untouched' });
      expect(w.error?.code).toBe('READER_GONE');
    });
  });
}
