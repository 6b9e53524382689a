/**
 * A reply that reached the port in time is not a timeout because this process was stalled when the timer fell
 * due (a loaded host). The stall is made on purpose, by blocking the event loop for several timeouts after the
 * reply is already in the pseudo-terminal, so the outcome does not depend on the machine's speed: without the
 * stall extension, libuv runs the expired timer before it reads the port and the exchange times out.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DI, buildReadReply, buildReadRequest } from '../../core/telemetry/index.ts';
import { openPtyPair, type PtyPair } from '../sim/pty.ts';
import { SerialLink } from './serial-link.ts';

const ADDRESS = '31000000000001';
const TIMEOUT_MS = 100;

/** Holds the event loop: nothing else in this process runs meanwhile, as when the host is starved. */
function stall(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy on purpose
  }
}

/** Resolves once the request has left through the port (the exchange writes it asynchronously). */
async function requestSent(link: SerialLink, before: number): Promise<void> {
  while (link.counters.bytesOut === before) await new Promise((r) => setImmediate(r));
}

describe('serial link reply deadline on a stalled host', () => {
  let pty: PtyPair;
  let link: SerialLink;
  let meterFd: number;

  beforeAll(async () => {
    pty = await openPtyPair();
    link = new SerialLink({ path: pty.gatewayPath, baudRate: 9600, profile: 'chint' });
    await link.open();
    // The meter's end, written synchronously so the reply is in the terminal before the stall begins.
    meterFd = openSync(pty.simPath, 'r+');
  });

  afterAll(async () => {
    if (meterFd !== undefined) closeSync(meterFd);
    await link?.close();
    await pty?.close();
  });

  it('a reply waiting in the port when the stalled timer fires is read, not timed out', async () => {
    const before = { ...link.counters };
    const request = buildReadRequest(ADDRESS, DI.CURRENT, 7, 'chint');
    const reply = buildReadReply(
      ADDRESS,
      DI.CURRENT,
      7,
      { cumulative: '12.34', settlement: '1.00', meterTime: '2026-12-04T00:00:00', status: { valve: 'open' } },
      'chint',
    );
    const exchange = link.exchange({ request, accept: (ev) => ev.frame.address === ADDRESS, timeoutMs: TIMEOUT_MS });
    await requestSent(link, before.bytesOut);
    writeSync(meterFd, reply);
    stall(4 * TIMEOUT_MS);
    const r = await exchange;
    expect(r.reply?.frame.address).toBe(ADDRESS);
    expect(r.frameErrors).toBe(0);
    expect(link.counters.stallExtensions - before.stallExtensions).toBeGreaterThanOrEqual(1);
  });

  it('a line that stays silent still times out, after a bounded number of extensions', async () => {
    const before = { ...link.counters };
    const request = buildReadRequest(ADDRESS, DI.CURRENT, 8, 'chint');
    const exchange = link.exchange({ request, accept: () => true, timeoutMs: TIMEOUT_MS });
    await requestSent(link, before.bytesOut);
    stall(4 * TIMEOUT_MS);
    const r = await exchange;
    expect(r.reply).toBeNull();
    const extensions = link.counters.stallExtensions - before.stallExtensions;
    expect(extensions).toBeGreaterThanOrEqual(1);
    expect(extensions).toBeLessThanOrEqual(3);
  });
});
