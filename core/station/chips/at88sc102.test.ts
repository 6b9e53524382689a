import { describe, expect, it } from 'vitest';
import { At88sc102, ZONE } from './at88sc102.ts';
import { fromHex, toHex } from './hex.ts';

const SC = fromHex('F0F0');
const EZ1 = fromHex('FFFFFFFFFFFF');
const EZ2 = fromHex('FFFFFFFF');

describe('AT88SC102 emulator', () => {
  it('factory map: FZ 0F0F, SCAC FFFF, SC masked before SV, fuses', () => {
    const c = At88sc102.factory();
    expect(toHex(c.read(0, 2))).toBe('0F0F');
    expect(toHex(c.read(10, 4))).toBe('0000FFFF');
    expect(c.scAttemptsLeft).toBe(4);
    expect(c.ec2Left).toBe(128);
    expect(c.ec2Enabled).toBe(true);
    expect(c.securityLevel).toBe(1);
    expect(c.fuseBlown('manufacturer')).toBe(true);
    expect(toHex(c.read(ZONE.EZ1[0], 6))).toBe('000000000000');
    expect(c.verifySc(SC)).toEqual({ ok: true, attemptsLeft: 4 });
    expect(toHex(c.read(10, 2))).toBe('F0F0');
    expect(toHex(c.read(ZONE.EZ1[0], 6))).toBe('FFFFFFFFFFFF');
  });

  it('four wrong SCs lock it (SCAC byte reads 0F); free zones stay readable', () => {
    const c = At88sc102.factory();
    const bad = fromHex('1234');
    expect([1, 2, 3, 4].map(() => c.verifySc(bad).attemptsLeft)).toEqual([3, 2, 1, 0]);
    expect(c.read(12, 1)[0]).toBe(0x0f);
    expect(c.verifySc(SC)).toEqual({ ok: false, attemptsLeft: 0 });
    expect(toHex(c.read(0, 2))).toBe('0F0F');
  });

  it('writes only clear bits; AZ needs the erase key to go back to 1', () => {
    const c = At88sc102.factory();
    expect(c.writeByte(30, 0x00)).toBe(false); // no SV
    c.verifySc(SC);
    expect(c.writeByte(30, 0x0f)).toBe(true);
    expect(c.writeByte(30, 0xf0)).toBe(true);
    expect(c.read(30, 1)[0]).toBe(0x00);
    expect(c.eraseZone(1)).toBe(false);
    expect(c.presentEraseKey(1, fromHex('000000000000'))).toMatchObject({ ok: false, reason: 'wrong-key' });
    expect(c.eraseZone(1)).toBe(false);
    expect(c.presentEraseKey(1, EZ1).ok).toBe(true);
    expect(c.eraseZone(1)).toBe(true);
    expect(c.read(30, 1)[0]).toBe(0xff);
  });

  it('EC2: each AZ2 erase-key presentation costs one of 128 bits; then AZ2 is frozen', () => {
    const c = At88sc102.factory();
    c.verifySc(SC);
    for (let i = 0; i < 128; i++) expect(c.presentEraseKey(2, EZ2).ok).toBe(true);
    expect(c.ec2Left).toBe(0);
    expect(c.presentEraseKey(2, EZ2)).toMatchObject({ ok: false, reason: 'ec2-exhausted' });
    expect(c.eraseZone(2)).toBe(false);
    expect(c.presentEraseKey(1, EZ1).ok).toBe(true); // AZ1 has no counter
  });

  it('EC2 disabled (EC2EN blown): AZ2 erases are unlimited', () => {
    const c = At88sc102.factory({ ec2Enabled: false });
    c.verifySc(SC);
    for (let i = 0; i < 200; i++) expect(c.presentEraseKey(2, EZ2).ok).toBe(true);
    expect(c.ec2Left).toBe(128);
  });

  it('issuer fuse: level 2 freezes IZ and MFZ, hides the erase keys; R=0 protects AZ reads', () => {
    const c = At88sc102.factory({ iz: '1122334455667788' });
    c.verifySc(SC);
    expect(c.writeByte(ZONE.AZ1[0], 0x80)).toBe(true); // P=1, R=0
    expect(c.blowFuse('issuer')).toBe(true);
    expect(c.securityLevel).toBe(2);
    expect(c.blowFuse('ec2en')).toBe(false); // too late
    expect(c.writeByte(2, 0x00)).toBe(false);
    expect(c.eraseWord(2)).toBe(false);
    expect(c.writeByte(ZONE.MFZ[0], 0x00)).toBe(false);
    expect(toHex(c.read(ZONE.EZ2[0], 4))).toBe('00000000');
    c.powerOff();
    expect(toHex(c.read(ZONE.AZ1[0] + 1, 2))).toBe('0000'); // R=0 and no SV
    expect(toHex(c.read(ZONE.AZ2[0], 2))).toBe('FFFF'); // AZ2 R=1
    c.verifySc(SC);
    expect(toHex(c.read(ZONE.AZ1[0] + 1, 2))).toBe('FFFF');
  });

  it('changes the SC after SV; image round-trips', () => {
    const c = At88sc102.factory();
    expect(c.changeSc(fromHex('1A2B'))).toBe(false);
    c.verifySc(SC);
    expect(c.changeSc(fromHex('1A2B'))).toBe(true);
    const d = At88sc102.fromImage(c.toImage());
    expect(d.verifySc(SC).ok).toBe(false);
    expect(d.verifySc(fromHex('1A2B'))).toEqual({ ok: true, attemptsLeft: 4 });
  });
});
