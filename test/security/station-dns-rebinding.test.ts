/**
 * Issue 13 row 1 (critical): DNS rebinding. A page at evil.example whose name is rebound to 127.0.0.1 is
 * same-origin with itself and sends `Host: evil.example:<port>`. Before the fix the station sold 99999 m³
 * for it and read the card out. Now any Host but the station's own loopback names is refused (421) before
 * routing — for plain HTTP and for the event WebSocket — and the card stays as it was.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attackBench, raw, type AttackBench } from './station-attack-support.ts';

let b: AttackBench;
beforeAll(async () => {
  b = await attackBench(12);
}, 180_000);
afterAll(async () => {
  await b?.close();
});

describe('station: a rebound Host is refused before routing (row 1)', () => {
  it('a purchase sent with Host evil.example sells nothing', async () => {
    const evil = `evil.example:${b.port}`;
    const r = await raw(`${b.st.url}/v1/station/purchase`, {
      method: 'POST',
      body: '{"gas":99999}',
      headers: { host: evil, origin: `http://${evil}`, 'content-type': 'application/json' },
    });
    expect(r.status).toBe(421);
    expect(r.body.error.code).toBe('STATION_BAD_HOST');
    expect(r.body.error.messageZh).toContain('DNS');
    expect(await b.card()).toMatchObject({ kind: 'user', gas: 12, count: 1 });
  });

  it('reading the card with Host evil.example is refused too, even with a pairing key', async () => {
    const r = await raw(`${b.st.url}/v1/station/card`, {
      headers: { host: `evil.example:${b.port}`, authorization: `Bearer ${b.st.key}` },
    });
    expect(r.status).toBe(421);
    expect(JSON.stringify(r.body)).not.toContain(b.cardNo);
  });

  it("only the station's own names pass: 127.0.0.1, localhost and [::1] with its port", async () => {
    for (const host of [`127.0.0.1:${b.port}`, `localhost:${b.port}`, `[::1]:${b.port}`]) {
      const r = await raw(`${b.st.url}/v1/station/card`, { headers: { host, authorization: `Bearer ${b.st.key}` } });
      expect(r.status, host).toBe(200);
    }
    for (const host of [
      '127.0.0.1',
      `127.0.0.1:${Number(b.port) + 1}`,
      `localhost.evil.example:${b.port}`,
      `LOCALHOST.:${b.port}`,
    ]) {
      const r = await raw(`${b.st.url}/v1/station/card`, { headers: { host, authorization: `Bearer ${b.st.key}` } });
      expect(r.status, host).toBe(421);
    }
  });

  it('the event WebSocket refuses a rebound Host at the upgrade', async () => {
    const ws = new WebSocket(`${b.st.url.replace('http', 'ws')}/v1/station/events`, {
      headers: { host: `evil.example:${b.port}` },
    });
    const outcome = await new Promise<string>((resolve) => {
      ws.on('unexpected-response', (req, res) => {
        resolve(`refused ${res.statusCode}`);
        req.destroy();
      });
      ws.on('message', () => resolve('got a message'));
      ws.on('error', (e) => resolve(`error ${e.message}`));
    });
    ws.terminate();
    expect(outcome).toBe('refused 421');
  });
});
