/**
 * Issue 13 row 11 (low): `meterhub station` without --reader used to start on the simulated reader, selling
 * through a real counter token onto simulated cards with its /sim/* routes open. Now --reader has no
 * default (a bilingual error lists the choices and nothing listens), and a station that was asked for `sim`
 * says 模拟读卡器（培训）in every answer and records its sales as channel station-sim.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ROOT, server } from '../station/support.ts';
import { attackBench, raw, type AttackBench } from './station-attack-support.ts';

let b: AttackBench;
beforeAll(async () => {
  b = await attackBench(7);
}, 180_000);
afterAll(async () => {
  await b?.close();
});

describe('station --reader (row 11)', () => {
  it('has no default: without it the station does not start and says what to choose', async () => {
    const child = spawn(process.execPath, [CLI, 'station', '--server', b.central.url, '--port', '0'], {
      cwd: ROOT,
      env: { ...process.env, METERHUB_STATION_TOKEN: b.central.counterToken },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    // Either it exits (fixed) or it starts listening (the defect): whichever comes first.
    const ending = await new Promise<string>((resolve) => {
      child.once('exit', (code) => resolve(`exit ${code}`));
      child.stdout.on('data', () => {
        if (out.includes('METERHUB_STATION_LISTENING')) resolve('listening');
      });
    });
    if (ending === 'listening') child.kill('SIGTERM');
    expect(ending).toBe('exit 2');
    expect(out).toContain('STATION_READER_REQUIRED');
    expect(out).toContain('必须指定读卡器');
    expect(out).toMatch(/--reader is required: mwic:<port>.*sim.*pcsc:<name>/);
  }, 60_000);

  it('sim is labelled as training in every answer, errors included', async () => {
    const card = await b.st.call('GET', '/v1/station/card');
    expect(card.body.readerLabel).toEqual({ zh: '模拟读卡器（培训）', en: 'simulated reader (training)' });
    const bad = await b.st.call('POST', '/v1/station/purchase', { gas: -1 });
    expect(bad.status).toBe(400);
    expect(bad.body.readerLabel.zh).toBe('模拟读卡器（培训）');
    const health = await raw(`${b.st.url}/v1/station/health`, { headers: { host: `127.0.0.1:${b.port}` } });
    expect(health.body).toMatchObject({
      reader: { kind: 'sim', training: true },
      readerLabel: { en: 'simulated reader (training)' },
    });
  });

  it('the sim routes are guarded like the rest: no key, nothing inserted', async () => {
    const r = await raw(`${b.st.url}/v1/station/sim/remove`, {
      method: 'POST',
      body: '{}',
      headers: { host: `127.0.0.1:${b.port}`, 'content-type': 'application/json' },
    });
    expect(r.status).toBe(401);
    expect((await b.card()).gas).toBe(7);
  });

  it('sales on the simulated reader are recorded as channel station-sim', async () => {
    const h = await server(b.central, 'GET', `/v1/transactions?maker=kingcard&cardNo=${b.cardNo}`);
    expect(h.body.transactions.map((t: { actor: { channel: string } }) => t.actor.channel)).toEqual(['station-sim']);
  });
});
