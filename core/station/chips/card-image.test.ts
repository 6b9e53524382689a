import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { At88sc102 } from './at88sc102.ts';
import { chipFromImage, loadImageFile, redactImage, saveImageFile, validateImage } from './card-image.ts';
import { fromHex } from './hex.ts';
import { Sle4442 } from './sle4442.ts';

describe('card images', () => {
  it('save/load keeps memory, counters, protection and serial', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mh-img-'));
    const c = Sle4442.factory({ serial: 'AABBCCDDEEFF', psc: '123456' });
    c.verifyPsc(fromHex('000000'));
    await saveImageFile(join(dir, 'a.json'), c.toImage());
    const img = await loadImageFile(join(dir, 'a.json'));
    expect(img).toEqual(c.toImage());
    const back = chipFromImage(img) as Sle4442;
    expect(back.errorCounter).toBe(c.errorCounter);
    expect(back.serial).toBe('AABBCCDDEEFF');
  });

  it('redaction hides PSC, SC and erase keys and nothing else', () => {
    const s = redactImage(Sle4442.factory({ psc: '123456' }).toImage());
    expect(JSON.stringify(s)).not.toContain('123456');
    const c = At88sc102.factory({ sc: '1A2B', ez1: 'A1A2A3A4A5A6', ez2: 'B1B2B3B4' });
    const r = redactImage(c.toImage()) as { memory: string };
    expect(r.memory).not.toMatch(/1A2B|A1A2A3A4A5A6|B1B2B3B4/);
    expect(r.memory.slice(0, 4)).toBe('0F0F');
  });

  it('rejects malformed images without echoing them', () => {
    expect(() =>
      validateImage({
        format: 'meterhub-card-image/1',
        chip: 'sle4442',
        serial: 'x',
        main: 'zz',
        protection: '00',
        errorCounter: 7,
        psc: 'SECRET',
      }),
    ).toThrow(/image.main/);
    expect(() => validateImage({ format: 'other' })).toThrow(/format/);
  });
});
