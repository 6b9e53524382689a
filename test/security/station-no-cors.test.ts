/**
 * Issue 13 row 2 (high): cross-origin writes without a preflight. A page on another origin sent
 * `fetch(station + '/v1/station/refund', {method: 'POST', mode: 'no-cors'})` — no body, no Content-Type,
 * no custom header — and the station emptied the card; `/format` then blanked it. Here the same requests
 * are sent byte for byte as the browser sends them (the chromium run is in test/station/counter-page.e2e);
 * none may change the card. A paired client's body-less POST is a 400: mutating routes take a JSON object.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attackBench, raw, type AttackBench } from './station-attack-support.ts';

let b: AttackBench;
const allowed = 'https://yingshou.example.com';
beforeAll(async () => {
  b = await attackBench(9, { allowOrigins: [allowed] });
}, 180_000);
afterAll(async () => {
  await b?.close();
});

/** What chromium sends for fetch(url, {method: 'POST', mode: 'no-cors'}) from `origin`. */
const noCors = (origin: string, path: string) =>
  raw(`${b.st.url}${path}`, {
    method: 'POST',
    headers: { host: `127.0.0.1:${b.port}`, origin, 'content-length': '0' },
  });

describe('station: a no-cors POST from a page does nothing (row 2)', () => {
  it('refund and format from a foreign origin are refused and the card keeps its gas', async () => {
    for (const path of ['/v1/station/refund', '/v1/station/format']) {
      const r = await noCors('http://attacker.example:8000', path);
      expect(r.status, path).toBe(403);
      expect(r.body.error.code).toBe('STATION_ORIGIN_REFUSED');
      expect(r.headers['access-control-allow-origin']).toBeUndefined();
    }
    expect(await b.card()).toMatchObject({ kind: 'user', gas: 9, count: 1 });
  });

  it('even from the allowed origin, a request without the pairing key does nothing', async () => {
    for (const path of ['/v1/station/refund', '/v1/station/format']) {
      const r = await noCors(allowed, path);
      expect(r.status, path).toBe(401);
      expect(r.body.error.code).toBe('STATION_NOT_PAIRED');
    }
    const textPlain = await raw(`${b.st.url}/v1/station/refund`, {
      method: 'POST',
      body: '{}',
      headers: { host: `127.0.0.1:${b.port}`, origin: allowed, 'content-type': 'text/plain' },
    });
    expect(textPlain.status).toBe(401);
    expect(await b.card()).toMatchObject({ kind: 'user', gas: 9, count: 1 });
  });

  it('a wrong key is no key', async () => {
    const r = await raw(`${b.st.url}/v1/station/refund`, {
      method: 'POST',
      body: '{}',
      headers: {
        host: `127.0.0.1:${b.port}`,
        'content-type': 'application/json',
        'x-meterhub-clerk': 'x1',
        authorization: `Bearer mhs_${'A'.repeat(43)}`,
      },
    });
    expect(r.status).toBe(401);
    expect(await b.card()).toMatchObject({ gas: 9 });
  });

  it('a paired client must send a JSON object and name the clerk', async () => {
    const empty = await raw(`${b.st.url}/v1/station/refund`, {
      method: 'POST',
      headers: {
        host: `127.0.0.1:${b.port}`,
        authorization: `Bearer ${b.st.key}`,
        'x-meterhub-clerk': 'c1',
        'content-length': '0',
      },
    });
    expect(empty.status).toBe(400);
    const noClerk = await raw(`${b.st.url}/v1/station/refund`, {
      method: 'POST',
      body: '{}',
      headers: { host: `127.0.0.1:${b.port}`, authorization: `Bearer ${b.st.key}`, 'content-type': 'application/json' },
    });
    expect(noClerk.status).toBe(400);
    expect(noClerk.body.error.code).toBe('STATION_CLERK_REQUIRED');
    expect(await b.card()).toMatchObject({ gas: 9 });
    // The same call done properly works: the guards stop the attacker, not the counter.
    const ok = await b.st.call('POST', '/v1/station/refund', {});
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(await b.card()).toMatchObject({ gas: 0, count: 1 });
  });

  it('preflights are answered for allowed origins only', async () => {
    const pre = (origin: string) =>
      raw(`${b.st.url}/v1/station/purchase`, {
        method: 'OPTIONS',
        headers: {
          host: `127.0.0.1:${b.port}`,
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type,x-meterhub-clerk',
          'access-control-request-private-network': 'true',
        },
      });
    const good = await pre(allowed);
    expect(good.status).toBe(204);
    expect(good.headers['access-control-allow-origin']).toBe(allowed);
    expect(String(good.headers['access-control-allow-headers'])).toContain('authorization');
    expect(good.headers['access-control-allow-private-network']).toBe('true');
    const own = await pre(`http://127.0.0.1:${b.port}`);
    expect(own.status).toBe(204);
    const bad = await pre('http://attacker.example:8000');
    expect(bad.status).toBe(403);
    expect(bad.headers['access-control-allow-origin']).toBeUndefined();
  });
});
