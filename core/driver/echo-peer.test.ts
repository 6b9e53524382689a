/**
 * The echo peer is the floor bench/driver-ipc.ts divides by: it must speak the driver-host protocol exactly (the
 * same frames the supervisor parses), answer in order when requests are written ahead, and run as its bundle on
 * a bare node like the real host — otherwise the ratio would compare unlike things.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { startEchoPeer } from './echo-client.ts';
import { HOST_BUNDLE_DIR } from './host-bundle.ts';
import { PROTOCOL_VERSION } from './protocol.ts';

const ROOT = resolve(import.meta.dirname, '../..');

beforeAll(() => {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts/build-host.mjs')], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
});

describe('echo peer', () => {
  it('runs bundled on a bare node, says ready in the protocol, and echoes params back', async () => {
    const peer = await startEchoPeer();
    try {
      expect(peer.bundled).toBe(true);
      const argv = readFileSync(`/proc/${peer.child.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      expect(argv).toEqual([process.execPath, join(HOST_BUNDLE_DIR, 'echo-peer.mjs')]);
      expect(peer.ready).toMatchObject({ event: 'ready', pid: peer.child.pid, protocol: PROTOCOL_VERSION });
      // Non-ASCII survives the ASCII-only encoding both ways.
      expect(await peer.call('Buy4442Card', { kh: '12', note: '购气' })).toEqual({ kh: '12', note: '购气' });
    } finally {
      await peer.close();
    }
    expect(peer.child.exitCode).toBe(0);
  });

  it('answers every request with the $load reply, in request order when 200 are written ahead', async () => {
    const reply = { rc: 0, dest: 'AB'.repeat(256), $out: { dest: { size: 4096, len: 512 } } };
    const peer = await startEchoPeer({ reply });
    try {
      const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => peer.call('Buy4442Card', { i })));
      expect(answers).toHaveLength(200);
      for (const a of answers) expect(a).toEqual(reply);
    } finally {
      await peer.close();
    }
  });

  it('exits after answering $shutdown', async () => {
    const peer = await startEchoPeer();
    expect(await peer.call('$shutdown')).toEqual({ ok: true });
    await peer.close();
    expect(peer.child.exitCode).toBe(0);
  });
});
