/**
 * A conformance peer (another maker's library whose cards the library under test must refuse) that cannot
 * be loaded is a failed check with its reason, never a check that silently disappears. Under a 32-bit
 * driver runtime (--exec-path) the peers are picked for that runtime's platform-arch, as a server does.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runConformance } from '../../core/conformance/kit.ts';
import { fakeArchExecPath } from '../../core/driver/test-fixtures/fake-arch.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const lib = (maker: string) => join(ROOT, 'plugins', maker, 'lib/linux-x64', `libgascard_${maker}.so`);
const work = mkdtempSync(join(tmpdir(), 'mh-conf-peers-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('conformance peers', () => {
  it('a peer whose library cannot be loaded fails the run with finding peer-unavailable', async () => {
    const broken = join(work, 'libgascard_broken.so');
    writeFileSync(broken, 'not a shared object');
    const report = await runConformance({
      library: lib('kingcard'),
      cardTypes: ['102'],
      against: [{ name: 'broken', library: broken }],
    });
    const c = report.checks.find((x) => x.id === '102.check.other.broken');
    expect(c).toMatchObject({ status: 'fail', group: 'core', finding: 'peer-unavailable' });
    expect(c?.detail).toContain('LIBRARY_LOAD_FAILED');
    expect(report.passed).toBe(false);
  }, 120_000);

  it('under a 32-bit runtime, a peer with no ia32 library is reported, one with it is checked', async () => {
    const execPath = fakeArchExecPath(work, 'ia32');
    const report = await runConformance({
      library: lib('kingcard'),
      cardTypes: ['102'],
      execPath,
      against: [
        { name: 'zenner', library: lib('zenner'), libraries: { 'linux-x64': lib('zenner'), 'win32-ia32': 'x.dll' } },
        {
          name: 'songchuan',
          library: lib('zenner'),
          libraries: { 'linux-x64': lib('zenner'), 'linux-ia32': lib('songchuan') },
        },
      ],
    });
    const zenner = report.checks.find((x) => x.id === '102.check.other.zenner');
    expect(zenner).toMatchObject({ status: 'fail', finding: 'peer-unavailable' });
    expect(zenner?.detail).toContain('LIBRARY_NOT_FOR_HOST');
    expect(zenner?.detail).toContain('linux-ia32');
    // songchuan's ia32 entry was loaded (not zenner's x64 one, which the server itself would use) and refused.
    expect(report.checks.find((x) => x.id === '102.check.other.songchuan')?.status).toBe('pass');
    expect(report.passed).toBe(false);
  }, 120_000);
});
