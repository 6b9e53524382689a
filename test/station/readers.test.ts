/**
 * The --reader choices: pcsc answers a clear "not supported yet"; mwic drives the Mingwah SDK through the
 * supervised koffi host (here the mwic stand-in library, 替身库, built with the system C compiler) and the
 * same station flow works on it as on the sim.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Sle4442 } from '../../core/station/chips/sle4442.ts';
import { buildStandin } from '../../core/station/readers/mwic-standin/build.ts';
import { emptyState, insertImage, readState, writeState } from '../../core/station/readers/mwic-standin/state-file.ts';
import { createReader } from '../../core/station/station.ts';
import { cleanup, freshCardNo, ROOT, startCentral, startTestStation } from './support.ts';

const lib = buildStandin(join(ROOT, 'build/mwic'));
if (!lib && process.env.CI === 'true') throw new Error('no C compiler: the mwic stand-in library cannot be built');
const tmp = mkdtempSync(join(tmpdir(), 'mh-station-mwic-'));
afterAll(() => cleanup(tmp));

describe('--reader', () => {
  it('pcsc:<name> is refused with a clear, stable error', () => {
    expect(() => createReader('pcsc:ACS ACR38U', { psamSlot: 1 })).toThrow(
      expect.objectContaining({
        code: 'STATION_READER_UNSUPPORTED',
        zh: expect.stringContaining('PC/SC 读卡器暂不支持'),
        en: expect.stringContaining('not supported yet'),
      }),
    );
    expect(() => createReader('mwic:COM1', { psamSlot: 1 })).toThrow(
      expect.objectContaining({ code: 'STATION_BAD_INPUT' }),
    );
    expect(() => createReader('usb', { psamSlot: 1 })).toThrow(expect.objectContaining({ code: 'STATION_BAD_INPUT' }));
  });

  it.skipIf(!lib)(
    'mwic:<port>: issue and read back through the Mingwah SDK host (stand-in library)',
    async () => {
      const state = join(tmp, 'mwic-state.txt');
      writeState(state, insertImage(emptyState(), Sle4442.factory().toImage()));
      process.env.MWIC_STANDIN_STATE = state;
      const central = await startCentral();
      const st = await startTestStation(central, { reader: 'mwic:0', mwicLibrary: lib! });
      try {
        expect(st.station.reader.kind).toBe('mwic');
        const cardNo = freshCardNo();
        const issue = await st.call('POST', '/v1/station/issue', { maker: 'kingcard', cardNo, gas: 8 });
        expect(issue.status, JSON.stringify(issue.body)).toBe(200);
        expect(issue.body).toMatchObject({ state: 'CONFIRMED', count: 1 });
        const shown = await st.call('GET', '/v1/station/card');
        expect(shown.body).toMatchObject({ cardType: '4442', kind: 'user', cardNo, gas: 8, count: 1 });
        // The card in the stand-in's state file carries the new password: the station changed it once.
        const s = readState(state);
        expect(s.psc).not.toBe('FFFFFF');
        expect(s.ec).toBe(7);
        // Sim-only routes say so on a real reader.
        const simOnly = await st.call('POST', '/v1/station/sim/insert', { cardType: '4442' });
        expect(simOnly.status).toBe(404);
        expect(simOnly.body.error.code).toBe('STATION_SIM_ONLY');
      } finally {
        await st.close();
        await central.stop();
        cleanup(central.dataDir);
      }
    },
    120_000,
  );
});
