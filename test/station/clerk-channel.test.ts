/**
 * Issue 13: the audit must say which clerk (营业员) made each sale. The station learns the clerk from its
 * caller (X-MeterHub-Clerk) and passes it on every call it makes to the central server for that request,
 * with the channel — `station-sim` on the simulated (training) reader. A recording relay between the
 * station and a REAL central server shows exactly what reaches the server.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanup,
  freshCardNo,
  startCentral,
  startTestStation,
  type CentralProcess,
  type TestStation,
} from './support.ts';

let central: CentralProcess;
let relay: Server;
let st: TestStation;
const seen: Array<{ method: string; url: string; headers: IncomingHttpHeaders }> = [];

beforeAll(async () => {
  central = await startCentral();
  // Forwards every request to the central server unchanged and remembers its headers.
  relay = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(([k]) => !['host', 'connection', 'content-length'].includes(k)),
      ) as Record<string, string>;
      const body = chunks.length ? Buffer.concat(chunks) : undefined;
      const r = await fetch(central.url + req.url, { method: req.method ?? 'GET', headers, ...(body ? { body } : {}) });
      res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
      res.end(Buffer.from(await r.arrayBuffer()));
    });
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(relay.address() as { port: number }).port}`;
  st = await startTestStation({ url, counterToken: central.counterToken }, { clerk: 'E-0107@north' });
}, 180_000);

afterAll(async () => {
  await st?.close();
  await new Promise((r) => relay?.close(r));
  await central?.stop();
  if (central) cleanup(central.dataDir);
});

describe('the clerk and the channel reach the central server', () => {
  it('every server call of a sale carries X-MeterHub-Clerk and channel station-sim', async () => {
    await st.call('POST', '/v1/station/sim/insert', { cardType: '4442' });
    const from = seen.length;
    const r = await st.call('POST', '/v1/station/issue', { maker: 'kingcard', cardNo: freshCardNo(), gas: 4 });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const calls = seen.slice(from);
    expect(calls.map((c) => `${c.method} ${c.url.split('/').slice(0, 3).join('/')}`)).toEqual(
      expect.arrayContaining(['POST /v1/cards']),
    );
    expect(calls.length).toBeGreaterThanOrEqual(2);
    for (const c of calls) {
      expect(c.headers['x-meterhub-clerk'], `${c.method} ${c.url}`).toBe('E-0107@north');
      expect(c.headers['x-meterhub-channel'], `${c.method} ${c.url}`).toBe('station-sim');
    }
  });

  it('another clerk on the next call is named on that call only', async () => {
    await st.call('POST', '/v1/station/sim/meter', {}, { 'x-meterhub-clerk': 'E-0200' });
    const from = seen.length;
    const r = await st.call('POST', '/v1/station/purchase', { gas: 3 }, { 'x-meterhub-clerk': 'E-0200' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const clerks = new Set(seen.slice(from).map((c) => c.headers['x-meterhub-clerk']));
    expect(clerks).toEqual(new Set(['E-0200']));
  });

  it('a clerk outside 1-64 of [A-Za-z0-9_.:@-] is refused before anything is sent', async () => {
    const from = seen.length;
    for (const bad of ['', 'a b', 'x'.repeat(65), 'a/b', 'a;b']) {
      const r = await st.call('POST', '/v1/station/refund', {}, { 'x-meterhub-clerk': bad });
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(r.body.error.code).toBe('STATION_CLERK_REQUIRED');
    }
    expect(seen.length).toBe(from);
  });
});
