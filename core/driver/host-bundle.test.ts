/**
 * The driver host starts with a bare `node`: its bundle (scripts/build-host.mjs) needs no tsx loader. The
 * supervisor uses it by default; the host also answers when started by hand without any loader.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCardDriver } from './driver-client.ts';
import { bundledHostFor, HOST_BUNDLE_DIR } from './host-bundle.ts';
import { FRAME_MARKER } from './protocol.ts';
import { DEFAULT_HOST_ENTRY } from './supervisor.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const LIB = join(ROOT, 'plugins/kingcard/lib/linux-x64/libgascard_kingcard.so');

beforeAll(() => {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts/build-host.mjs')], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
});

const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

describe('driver host without tsx', () => {
  it('the supervisor starts the bundled host with plain node and it serves calls', async () => {
    expect(bundledHostFor(DEFAULT_HOST_ENTRY)).toBe(join(HOST_BUNDLE_DIR, 'main.mjs'));
    const d = createCardDriver({ libraryPath: LIB, startTimeoutMs: 60_000 });
    try {
      const info = await d.info();
      expect(cmdline(info.pid)).toEqual([process.execPath, join(HOST_BUNDLE_DIR, 'main.mjs')]);
      expect(cmdline(info.pid).join(' ')).not.toContain('tsx');
      const w = await d.writeNew('4442', { cardNo: '2002', gas: 7, count: 1, meterKind: 1 });
      expect(w.rc).toBe(0);
      expect((await d.read('4442', w.data!)).gas).toBe(7);
    } finally {
      await d.close();
    }
  });

  it('started by hand with no loader, the bundle says ready and loads a library', async () => {
    const child = spawn(process.execPath, [join(HOST_BUNDLE_DIR, 'main.mjs')], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s;
    });
    child.stdin.write(`${JSON.stringify({ id: 1, method: '$load', params: { path: LIB } })}\n`);
    child.stdin.end();
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    const frames = out
      .split('\n')
      .filter((l) => l.startsWith(FRAME_MARKER))
      .map((l) => JSON.parse(l.slice(FRAME_MARKER.length)));
    expect(code).toBe(0);
    expect(frames[0]).toMatchObject({ event: 'ready', arch: process.arch, platform: process.platform, protocol: 1 });
    expect(frames[1].result.functions).toContain('WriteNew4442Card');
  });

  it('a bundled host uses less memory than one started through tsx', async () => {
    const rss: Record<string, number> = {};
    for (const useBundle of [true, false]) {
      const d = createCardDriver({ libraryPath: LIB, startTimeoutMs: 60_000, useBundle });
      try {
        const { pid } = await d.info();
        await d.writeNew('4442', { cardNo: '3003', gas: 1, count: 1, meterKind: 1 });
        expect(cmdline(pid).join(' ').includes('tsx')).toBe(!useBundle);
        rss[useBundle ? 'bundle' : 'tsx'] = rssKiB(pid);
      } finally {
        await d.close();
      }
    }
    console.error(`driver host RSS: bundle ${rss.bundle} KiB, tsx ${rss.tsx} KiB`);
    expect(rss.bundle!).toBeLessThan(rss.tsx!);
  });
});
