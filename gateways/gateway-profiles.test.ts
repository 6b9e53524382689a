/**
 * Each program owns its dialect registry (issue 15 item 7): a gateway resolves its config's profile name in the
 * registry it is given, never in a process-wide one, so two registries in one process do not see each other.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { tempSqlite } from '../core/readings/testing/fixtures.ts';
import {
  buildReadReply,
  decodeAll,
  DI,
  frameToReading,
  ProfileRegistry,
  resolveProfile,
} from '../core/telemetry/index.ts';
import { createGateway } from './gateway.ts';

const temp = tempSqlite();
afterAll(() => temp.drop());

const ACME = { name: 'acme-two-registries', diOrder: 'be', clockOrder: 'be', preamble: 2, source: 'test' } as const;
const METER = '33000000000042';

describe('two profile registries in one process', () => {
  it('a profile registered in one is unknown in the other and in the by-name lookup', () => {
    const a = new ProfileRegistry();
    const b = new ProfileRegistry();
    a.register(ACME, 'acme');
    expect(a.get(ACME.name)).toMatchObject({ diOrder: 'be', clockOrder: 'be' });
    expect(() => b.get(ACME.name)).toThrow(/TELEMETRY_PROFILE_UNKNOWN/);
    expect(() => resolveProfile(ACME.name)).toThrow(/TELEMETRY_PROFILE_UNKNOWN/);
    expect(b.list().map((p) => p.name)).not.toContain(ACME.name);
  });

  it('a gateway built with one registry decodes with its profile; the other registry cannot build it', async () => {
    const a = new ProfileRegistry();
    const b = new ProfileRegistry();
    const acme = a.register(ACME, 'acme');
    const config = { gatewayId: 'two-registries', profile: ACME.name };

    expect(() => createGateway(config, { profiles: b, database: temp.open() })).toThrow(/TELEMETRY_PROFILE_UNKNOWN/);

    const gw = createGateway(config, { profiles: a, database: temp.open() });
    try {
      expect(gw.profile).toBe(acme);
      const frame = buildReadReply(
        METER,
        DI.CURRENT,
        7,
        { cumulative: '123.45', settlement: '100.00', meterTime: '2025-03-04T05:06:07', status: { valve: 'open' } },
        acme,
      );
      const events = decodeAll(frame, gw.profile);
      expect(events.map((e) => e.type)).toEqual(['frame']);
      const ev = events[0]!;
      if (ev.type !== 'frame') throw new Error('not a frame');
      const reading = frameToReading(ev.frame, gw.profile, { source: 'mqtt', raw: ev.raw });
      expect(reading).toMatchObject({ meterId: METER, cumulative: '123.45', meterTime: '2025-03-04T05:06:07' });
      // Under the company standard the same bytes are not this reading: the DI reads byte-swapped.
      const asCompany = decodeAll(frame, 'cjt188-company').filter((e) => e.type === 'frame');
      expect(asCompany).toHaveLength(1);
      const f = asCompany[0]!;
      if (f.type !== 'frame') throw new Error('not a frame');
      expect(() => frameToReading(f.frame, 'cjt188-company', { source: 'mqtt', raw: f.raw })).toThrow(/DI 1f90/);
    } finally {
      await gw.database.close();
    }
  });
});
