/**
 * The library is chosen for the process that loads it. A 64-bit server whose plugin names a 32-bit runtime
 * (driver.execPath, docs/deploy/station-windows.md §1) must hand that host the ia32 library, not its own
 * x64 one. No 32-bit Node can run here, so the runtime is this Node reporting `ia32` (fake-arch.ts).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isMeterHubError } from '../errors/meterhub-error.ts';
import { fakeArchExecPath } from '../driver/test-fixtures/fake-arch.ts';
import { createPluginHost } from './plugin-host.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const KINGCARD = join(ROOT, 'plugins/kingcard/lib/linux-x64/libgascard_kingcard.so');
const ZENNER = join(ROOT, 'plugins/zenner/lib/linux-x64/libgascard_zenner.so');
const work = mkdtempSync(join(tmpdir(), 'mh-host-arch-'));
const NODE_IA32 = fakeArchExecPath(work, 'ia32');

afterAll(() => rmSync(work, { recursive: true, force: true }));

function plugin(name: string, library: Record<string, string>, execPath: string): string {
  const dir = join(work, 'plugins', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'meterhub-plugin.json'),
    JSON.stringify({
      id: name,
      name: { 'zh-CN': name, en: name },
      cardTypes: ['102'],
      library,
      standIn: true,
      driver: { execPath },
      catalogues: { returnCodes: [], toolCards: [] },
    }),
  );
  return dir;
}

async function hostFor(dir: string) {
  const host = await createPluginHost({
    bundledDir: null,
    pluginPaths: [dir],
    ignoreEnv: true,
    dataDir: join(work, 'data'),
  });
  // Plugins found on a path start disabled until ops enable them.
  for (const p of host.list()) await host.enable(p.id);
  return host;
}

describe('library per driver host platform-arch', () => {
  it('a 32-bit execPath under a 64-bit server gets the ia32 entry, not the server’s x64 one', async () => {
    const host = await hostFor(plugin('archpick', { 'linux-x64': ZENNER, 'linux-ia32': KINGCARD }, NODE_IA32));
    try {
      const info = await host.driver('archpick').info();
      expect(info.arch).toBe('ia32');
      expect(info.library).toBe(KINGCARD);
      // Kingcard's stand-in handles 4442, zenner's does not: the bound library is really the ia32 entry.
      const w = await host.driver('archpick').writeNew('4442', { cardNo: '1001', gas: 5, count: 1, meterKind: 1 });
      expect(w.rc).toBe(0);
    } finally {
      await host.close();
    }
  });

  it('no entry for the host’s platform-arch fails the start, naming the host’s and the server’s', async () => {
    const host = await hostFor(
      plugin('archnone', { 'linux-x64': ZENNER, 'win32-ia32': 'lib/win32-ia32/x.dll' }, NODE_IA32),
    );
    try {
      const e = await host
        .driver('archnone')
        .info()
        .then(
          () => undefined,
          (err: unknown) => err,
        );
      expect(isMeterHubError(e) && e.code).toBe('LIBRARY_NOT_FOR_HOST');
      if (!isMeterHubError(e)) return;
      expect(e.details).toMatchObject({
        hostPlatform: 'linux-ia32',
        serverPlatform: `${process.platform}-${process.arch}`,
      });
      expect(e.en).toContain('linux-ia32');
      expect(e.en).toContain(`${process.platform}-${process.arch}`);
      expect(e.zh).toContain('linux-ia32');
    } finally {
      await host.close();
    }
  });
});
