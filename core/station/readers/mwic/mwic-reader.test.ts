/**
 * The mwic reader through the real koffi binding in a driver-host child process, against the stand-in library
 * (替身库, core/station/readers/mwic-standin/) built here with the system C compiler.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../chips/hex.ts';
import { buildStandin } from '../mwic-standin/build.ts';
import {
  emptyState,
  insertImage,
  readState,
  stateToImage,
  writeState,
  type StandinState,
} from '../mwic-standin/state-file.ts';
import { imageOf, readerContract } from '../reader-contract.ts';
import { SIM_CPU_ATR } from '../sim/sim-cpu.ts';
import { MwicReader, t1Frame, t1Unframe, type MwicReaderOptions } from './mwic-reader.ts';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../..');
const lib = buildStandin(join(ROOT, 'build/mwic'));
if (!lib && process.env.CI === 'true') throw new Error('no C compiler: the mwic stand-in library cannot be built');
const tmp = mkdtempSync(join(tmpdir(), 'mh-mwic-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;

function stateFile(init: Partial<StandinState> = {}): string {
  const p = join(tmp, `state-${process.pid}-${n++}.txt`);
  writeState(p, { ...emptyState(), ...init });
  return p;
}

function reader(path: string, o: Partial<MwicReaderOptions> = {}): MwicReader {
  return new MwicReader({
    libraryPath: lib ?? '',
    env: { ...process.env, MWIC_STANDIN_STATE: path },
    pollMs: 50,
    startTimeoutMs: 60_000,
    ...o,
  });
}

const update = (path: string, f: (s: StandinState) => StandinState) => writeState(path, f(readState(path)));

describe.skipIf(!lib)(`mwic reader${lib ? '' : ' [skipped: no C compiler for the stand-in]'}`, () => {
  readerContract('mwic (koffi + stand-in library)', async () => {
    const path = stateFile();
    const r = reader(path);
    return {
      reader: r,
      insert: async (card) => {
        const img = imageOf(card);
        if (img) update(path, (s) => insertImage(s, img));
        else update(path, (s) => ({ ...s, present: true, insert: s.insert + 1, type: 'cpu', atr: SIM_CPU_ATR }));
      },
      remove: async () => update(path, (s) => ({ ...s, present: false })),
      image: async () => stateToImage(readState(path)),
      pullAfterWrites: async (k) => update(path, (s) => ({ ...s, pullAfter: k })),
      disconnect: async () => update(path, (s) => ({ ...s, reader: 'gone' })),
      insertSam: async (slot) =>
        update(path, (s) => {
          const sams = [...s.sams] as StandinState['sams'];
          sams[slot - 1] = true;
          return { ...s, sams };
        }),
      dispose: async () => rmSync(path, { force: true }),
    };
  });

  describe('unconfirmed Mingwah semantics are options', () => {
    it('chk_card codes and counter mode follow the configuration', async () => {
      const path = stateFile({ chk4442: 7, rsct: 'count' });
      const img = imageOf({ type: '4442' });
      if (img) update(path, (s) => insertImage(s, img));
      const wrong = reader(path);
      await wrong.open();
      try {
        expect(await wrong.detectCard()).toBe('unknown'); // default table expects 21
      } finally {
        await wrong.close();
      }
      const right = reader(path, { chkCodes: { '4442': [21, 7], '102': [51] }, counterMode: 'count' });
      await right.open();
      try {
        expect(await right.detectCard()).toBe('4442');
        await expect(right.verify4442(fromHex('000000'))).rejects.toMatchObject({ details: { attemptsLeft: 2 } });
        expect(await right.readErrorCounter4442()).toEqual({ attemptsLeft: 2, raw: 2 });
      } finally {
        await right.close();
      }
    });

    it('raw PSAM framing', async () => {
      const path = stateFile({ samframe: 'raw', sams: [false, true, false] });
      const r = reader(path, { samFraming: 'raw' });
      await r.open();
      try {
        expect(toHex(await r.samApdu(2, fromHex('00A4000002DF01')))).toBe('9000');
      } finally {
        await r.close();
      }
    });

    it('T=1 block framing round-trips and rejects a bad LRC', () => {
      const f = t1Frame(fromHex('00A4000002DF01'));
      expect(toHex(f.subarray(0, 3))).toBe('004007');
      expect(toHex(t1Unframe(Uint8Array.of(0x00, 0x40, 0x02, 0x90, 0x00, 0x40 ^ 0x02 ^ 0x90)))).toBe('9000');
      expect(() => t1Unframe(Uint8Array.of(0x00, 0x40, 0x02, 0x90, 0x00, 0x00))).toThrow();
    });
  });

  it('a crashed driver host is respawned; the SDK is re-initialised and the old verification is gone', async () => {
    const path = stateFile();
    const img = imageOf({ type: '4442' });
    if (img) update(path, (s) => insertImage(s, img));
    const r = reader(path, { pollMs: 0 });
    await r.open();
    try {
      await r.verify4442(fromHex('FFFFFF'));
      await r.write4442(0x40, Uint8Array.of(1));
      const pid = r.health()?.pid;
      expect(pid).toBeGreaterThan(0);
      process.kill(pid as number, 'SIGKILL');
      await new Promise((res) => setTimeout(res, 300));
      expect(toHex(await r.read4442(0x40, 1))).toBe('01');
      expect(r.health()?.pid).not.toBe(pid);
      await expect(r.write4442(0x40, Uint8Array.of(2))).rejects.toMatchObject({
        code: 'READER_WRITE_FAILED',
        details: { reason: 'not-verified' },
      });
    } finally {
      await r.close();
    }
  });

  it('a library that cannot be loaded fails open with LIBRARY_LOAD_FAILED (a configuration error, not READER_GONE)', async () => {
    const r = new MwicReader({ libraryPath: join(tmp, 'missing.so'), pollMs: 0, startTimeoutMs: 60_000 });
    await expect(r.open()).rejects.toMatchObject({ code: 'LIBRARY_LOAD_FAILED' });
    expect(r.isOpen).toBe(false);
  });
});
