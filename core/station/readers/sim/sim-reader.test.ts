import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { loadImageFile } from '../../chips/card-image.ts';
import { fromHex, toHex } from '../../chips/hex.ts';
import { readerContract } from '../reader-contract.ts';
import { MINGWAH_9600 } from './sim-link.ts';
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

describe('sim byte timing (off by default)', () => {
  /** A fake clock: records each wait instead of waiting, so nothing here depends on the machine's speed. */
  const fakeClock = () => {
    const waits: number[] = [];
    return { waits, sleep: async (ms: number) => void waits.push(ms) };
  };
  const ms = 10_000 / 9600; // one byte at 9600 8N1

  it('waits for every byte a call moves at the link speed, plus 2.5 ms per EEPROM operation', async () => {
    const clock = fakeClock();
    const sim = new SimReader({ link: { ...MINGWAH_9600, sleep: clock.sleep } });
    await sim.open();
    sim.insert({ type: '4442' });

    await sim.read4442(0, 256); // srd_4442: 5 bytes out, 2 + 256 back
    await sim.read4442(0x20, 16); // 5 out, 2 + 16 back
    expect(clock.waits).toHaveLength(2);
    expect(clock.waits[0]).toBeCloseTo((5 + 258) * ms, 9);
    expect(clock.waits[1]).toBeCloseTo((5 + 18) * ms, 9);
    // Per byte moved: 240 more bytes read = 240 byte times more.
    expect(clock.waits[0]! - clock.waits[1]!).toBeCloseTo(240 * ms, 9);

    await sim.verify4442(fromHex('FFFFFF')); // csc_4442: 6 out, 2 back; the chip clears an EC bit and erases it
    expect(clock.waits[2]).toBeCloseTo(8 * ms + 2 * 2.5, 9);

    // swr_4442 (5 + 3 out, 2 back), read back srd (5 out, 2 + 3 back); prd only explains a mismatch. 3 programmed.
    await sim.write4442(0x80, Uint8Array.of(1, 2, 3));
    expect(clock.waits[3]).toBeCloseTo((8 + 2 + 5 + 5) * ms + 3 * 2.5, 9);

    expect(sim.linkCost()).toEqual({
      commands: 1 + 1 + 1 + 2,
      sent: 5 + 5 + 6 + (8 + 5),
      received: 258 + 18 + 2 + (2 + 5),
      programmed: 2 + 3,
    });
  });

  it('a composite call is charged through the calls it makes; a failed call still moves its bytes', async () => {
    const clock = fakeClock();
    const sim = new SimReader({ link: { ...MINGWAH_9600, sleep: clock.sleep } });
    await sim.open();
    sim.insert({ type: '4442' });
    await sim.identify(); // detectCard (get_status + chk_card), then read4442(0x15, 6)
    expect(sim.linkCost()).toEqual({ commands: 3, sent: 2 + 5, received: 4 + 2 + 8, programmed: 0 });
    expect(sim.linkCalls()).toEqual({ detectCard: 1, read4442: 1 });
    sim.resetLinkCost();
    await expect(sim.write4442(0x80, Uint8Array.of(0))).rejects.toMatchObject({ code: 'READER_WRITE_FAILED' });
    // Not verified: the chip wrote nothing; swr + srd + prd went out (6 + 5 + 3 bytes), three status replies came back.
    expect(sim.linkCost()).toEqual({ commands: 3, sent: 14, received: 6, programmed: 0 });
    sim.resetLinkCost();
    await expect(sim.read4442(0, 'x' as never)).rejects.toMatchObject({ code: 'READER_BAD_DATA' });
    expect(sim.linkCost()).toEqual({ commands: 1, sent: 5, received: 2, programmed: 0 });
    expect(clock.waits).toHaveLength(2 + 2); // one wait per driver call: detectCard, read4442, write4442, read4442
  });

  it('without `link` it counts the bytes but never waits', async () => {
    const sim = new SimReader();
    await sim.open();
    sim.insert({ type: '4442' });
    const timers = vi.spyOn(globalThis, 'setTimeout');
    try {
      for (let i = 0; i < 50; i++) await sim.read4442(0, 256);
      expect(sim.linkCost()).toMatchObject({ commands: 50, received: 50 * 258 });
      expect(timers).not.toHaveBeenCalled();
    } finally {
      timers.mockRestore();
    }
  });
});
