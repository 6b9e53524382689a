import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadImageFile } from '../../chips/card-image.ts';
import { fromHex, toHex } from '../../chips/hex.ts';
import { readerContract } from '../reader-contract.ts';
import { SimReader } from './sim-reader.ts';

readerContract('sim', async () => {
  const sim = new SimReader();
  return {
    reader: sim,
    insert: async (card) => {
      sim.insert(card);
    },
    remove: async () => {
      sim.remove();
    },
    image: async () => sim.image(),
    pullAfterWrites: async (n) => sim.pullCardAfterWrites(n),
    disconnect: async () => sim.disconnect(),
    insertSam: async (slot) => sim.insertSam(slot),
    dispose: async () => undefined,
  };
});

describe('sim control functions', () => {
  it('insert / remove / image / save and reload a card file', async () => {
    const sim = new SimReader();
    await sim.open();
    expect(sim.insert({ type: '4442', options: { serial: '00000000002A' } })).toMatchObject({
      chip: 'sle4442',
      locked: false,
      attemptsLeft: 3,
    });
    await sim.verify4442(fromHex('FFFFFF'));
    await sim.write4442(0x80, Uint8Array.of(9, 8, 7));
    const dir = mkdtempSync(join(tmpdir(), 'mh-sim-'));
    await sim.saveImageFile(join(dir, 'card.json'));
    const removed = sim.remove();
    expect(removed?.chip).toBe('sle4442');
    expect(await sim.detectCard()).toBe('none');
    expect(sim.image()).toEqual(removed); // the last card stays inspectable
    const img = await loadImageFile(join(dir, 'card.json'));
    expect(img).toEqual(removed);
    await sim.insertImageFile(join(dir, 'card.json'));
    expect(toHex(await sim.read4442(0x80, 3))).toBe('090807');
    // A new insertion is a power-on: the earlier verification is gone.
    await expect(sim.write4442(0x80, Uint8Array.of(0))).rejects.toMatchObject({ code: 'READER_WRITE_FAILED' });
  });

  it('a malformed card spec is READER_BAD_DATA and leaves the slot as it was', async () => {
    const sim = new SimReader();
    await sim.open();
    sim.insert({ type: '102' });
    expect(() => sim.insert({ type: '4442', options: { psc: 'NOT-HEX' } })).toThrow(
      expect.objectContaining({ code: 'READER_BAD_DATA' }),
    );
    expect(() => sim.insert({ image: { format: 'meterhub-card-image/1', chip: 'sle4442' } as never })).toThrow(
      expect.objectContaining({ code: 'READER_BAD_DATA' }),
    );
    expect(await sim.detectCard()).toBe('102');
  });

  it('reconnect after disconnect needs open again', async () => {
    const sim = new SimReader();
    await sim.open();
    sim.disconnect();
    await expect(sim.open()).rejects.toMatchObject({ code: 'READER_GONE' });
    sim.reconnect();
    await sim.open();
    expect(await sim.detectCard()).toBe('none');
  });
});
