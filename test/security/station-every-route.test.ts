/**
 * Every route of the station's local API behind the same guards (issue 13 rows 1-3): without the pairing
 * key a call is 401, from a foreign origin 403 even with the key, and every POST needs the clerk. The list
 * is checked against the routes the station actually registered, so a new route cannot slip past it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, startCentral, startTestStation, type CentralProcess, type TestStation } from '../station/support.ts';
import { raw } from './station-attack-support.ts';

const GUARDED: Array<[string, string]> = [
  ['GET', '/v1/station/card'],
  ['GET', '/v1/station/pending'],
  ['GET', '/v1/station/cpu-ledger?maker=tancy&cardNo=1'],
  ['POST', '/v1/station/issue'],
  ['POST', '/v1/station/reissue'],
  ['POST', '/v1/station/purchase'],
  ['POST', '/v1/station/refund'],
  ['POST', '/v1/station/format'],
  ['POST', '/v1/station/tool'],
  ['POST', '/v1/station/recover'],
  ['POST', '/v1/station/sim/insert'],
  ['POST', '/v1/station/sim/remove'],
  ['GET', '/v1/station/sim/card'],
  ['POST', '/v1/station/sim/psam'],
  ['POST', '/v1/station/sim/fault'],
  ['POST', '/v1/station/sim/meter'],
];

let central: CentralProcess;
let st: TestStation;
let host: string;
beforeAll(async () => {
  central = await startCentral();
  st = await startTestStation(central);
  host = `127.0.0.1:${new URL(st.url).port}`;
}, 180_000);
afterAll(async () => {
  await st?.close();
  await central?.stop();
  if (central) cleanup(central.dataDir);
});

describe('station: every route is guarded', () => {
  it('the list covers every card route the station registered', () => {
    // The OpenAPI document lists every documented route (the page's files and the sim catch-all are hidden).
    const spec = (
      st.station.app as unknown as { swagger(): { paths: Record<string, Record<string, unknown>> } }
    ).swagger();
    const registered = Object.entries(spec.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .filter((r) => !r.endsWith('/health') && !r.endsWith('/events'));
    const listed = GUARDED.map(([m, p]) => `${m} ${p.split('?')[0]}`);
    expect(new Set(registered)).toEqual(new Set(listed));
  });

  it('without the pairing key every route answers 401 and does nothing', async () => {
    for (const [method, path] of GUARDED) {
      const r = await raw(st.url + path, {
        method,
        headers: { host, 'content-type': 'application/json', 'x-meterhub-clerk': 'c1' },
        ...(method === 'POST' ? { body: '{}' } : {}),
      });
      expect(r.status, `${method} ${path}`).toBe(401);
      expect(r.body.error.code).toBe('STATION_NOT_PAIRED');
    }
  });

  it('from a foreign origin every route answers 403, key or not', async () => {
    for (const [method, path] of GUARDED) {
      const r = await raw(st.url + path, {
        method,
        headers: {
          host,
          origin: 'http://attacker.example',
          authorization: `Bearer ${st.key}`,
          'content-type': 'application/json',
          'x-meterhub-clerk': 'c1',
        },
        ...(method === 'POST' ? { body: '{}' } : {}),
      });
      expect(r.status, `${method} ${path}`).toBe(403);
    }
  });

  it('every POST needs the clerk', async () => {
    for (const [method, path] of GUARDED.filter(([m]) => m === 'POST')) {
      const r = await raw(st.url + path, {
        method,
        headers: { host, authorization: `Bearer ${st.key}`, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(r.status, path).toBe(400);
      expect(r.body.error.code, path).toBe('STATION_CLERK_REQUIRED');
    }
  });
});
