import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from './hex.ts';
import { Sle4442 } from './sle4442.ts';

const FF = fromHex('FFFFFF');
const BAD = fromHex('123456');

describe('SLE4442 emulator', () => {
  it('factory card: header, FF app area, EC 7, PSC reads 00 before verification', () => {
    const c = Sle4442.factory({ serial: '0102030405AB' });
    expect(toHex(c.readMain(0, 8))).toBe('A2131091460B8115');
    expect(toHex(c.readMain(0x15, 6))).toBe('0102030405AB');
    expect(toHex(c.readMain(0x20, 4))).toBe('FFFFFFFF');
    expect(toHex(c.readSecurity())).toBe('07000000');
    expect(toHex(c.readProtection())).toBe('00FFFFFF');
  });

  it('writes nothing until verified; a verified update is erase+write (any value)', () => {
    const c = Sle4442.factory();
    expect(c.updateMain(0x40, 0x12)).toBe(false);
    expect(c.readMain(0x40, 1)[0]).toBe(0xff);
    expect(c.verifyPsc(FF)).toEqual({ ok: true, errorCounter: 7, attemptsLeft: 3 });
    expect(toHex(c.readSecurity())).toBe('07FFFFFF');
    expect(c.updateMain(0x40, 0x12)).toBe(true);
    expect(c.updateMain(0x40, 0xf0)).toBe(true); // sets bits again: erase happens first
    expect(c.readMain(0x40, 1)[0]).toBe(0xf0);
    c.powerOff();
    expect(c.updateMain(0x40, 0x00)).toBe(false);
  });

  it('three wrong PSCs lock the card for good; it stays readable', () => {
    const c = Sle4442.factory();
    expect(c.verifyPsc(BAD)).toMatchObject({ ok: false, attemptsLeft: 2 });
    expect(c.verifyPsc(BAD)).toMatchObject({ ok: false, attemptsLeft: 1 });
    expect(c.verifyPsc(BAD)).toMatchObject({ ok: false, attemptsLeft: 0, errorCounter: 0 });
    expect(c.locked).toBe(true);
    expect(c.verifyPsc(FF)).toMatchObject({ ok: false, attemptsLeft: 0 });
    expect(c.updateMain(0x40, 0)).toBe(false);
    expect(c.readMain(0, 4).length).toBe(4);
  });

  it('a correct PSC after two wrong ones resets EC to 7', () => {
    const c = Sle4442.factory();
    c.verifyPsc(BAD);
    c.verifyPsc(BAD);
    expect(c.errorCounter).not.toBe(7);
    expect(c.verifyPsc(FF)).toEqual({ ok: true, errorCounter: 7, attemptsLeft: 3 });
  });

  it('compares only count inside the sequence and in order', () => {
    const c = Sle4442.factory();
    for (let i = 1; i <= 3; i++) c.compareVerification(i, 0xff);
    expect(c.updateSecurity(0, 0xff)).toBe(false); // no EC bit written first: no unlock
    expect(c.verified).toBe(false);
    c.updateSecurity(0, 0x06);
    c.compareVerification(2, 0xff); // out of order
    c.compareVerification(1, 0xff);
    c.compareVerification(3, 0xff);
    expect(c.updateSecurity(0, 0xff)).toBe(false);
    expect(c.errorCounter).toBe(6);
  });

  it('protection bits: compare must match, OTP, protected bytes never change', () => {
    const c = Sle4442.factory({ protection: 'FFFFFFFF' });
    c.verifyPsc(FF);
    expect(c.updateMain(0x10, 0x55)).toBe(true);
    expect(c.writeProtection(0x10, 0x56)).toBe(false);
    expect(c.writeProtection(0x10, 0x55)).toBe(true);
    expect(toHex(c.readProtection())).toBe('FFFFFEFF');
    expect(c.updateMain(0x10, 0xaa)).toBe(false);
    expect(c.readMain(0x10, 1)[0]).toBe(0x55);
    const again = Sle4442.fromImage(c.toImage());
    again.verifyPsc(FF);
    expect(again.updateMain(0x10, 0xaa)).toBe(false);
  });

  it('changes the PSC only when verified', () => {
    const c = Sle4442.factory();
    expect(c.changePsc(fromHex('A1B2C3'))).toBe(false);
    c.verifyPsc(FF);
    expect(c.changePsc(fromHex('A1B2C3'))).toBe(true);
    c.powerOff();
    expect(c.verifyPsc(FF).ok).toBe(false);
    expect(c.verifyPsc(fromHex('A1B2C3')).ok).toBe(true);
  });

  it('a write hook that throws aborts the write with nothing changed', () => {
    const c = Sle4442.factory();
    c.verifyPsc(FF);
    c.beforeWrite = () => {
      throw new Error('pulled');
    };
    expect(() => c.updateMain(0x30, 0)).toThrow('pulled');
    expect(c.readMain(0x30, 1)[0]).toBe(0xff);
  });
});

describe('SLE4442 last attempt', () => {
  it('the third attempt (last EC bit) still unlocks with the right PSC', () => {
    const c = Sle4442.factory();
    c.verifyPsc(BAD);
    c.verifyPsc(BAD);
    expect(c.attemptsLeft).toBe(1);
    expect(c.verifyPsc(FF)).toEqual({ ok: true, errorCounter: 7, attemptsLeft: 3 });
  });
});
