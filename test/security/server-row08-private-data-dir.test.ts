/**
 * Issue 13 #8: the data directory followed the umask — under plain `serve`, meterhub.db, -wal and -shm were 644
 * and data/ 755 (only ledger.key was 600). Now the directory is 0700 and every file in it 0600, whatever the
 * umask. (POSIX modes; on Windows the service account's ACL does this: docs/deploy/station-windows.md.)
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpsServer, tempDir, sellCard, type OpsServer } from '../ops/support.ts';

describe.runIf(process.platform !== 'win32')('issue 13 #8: the data directory is private whatever the umask', () => {
  let s: OpsServer;
  let before: number;
  beforeAll(async () => {
    // The most permissive umask there is: nothing the server creates may rely on it.
    before = process.umask(0o000);
    s = await startOpsServer({ dataDir: join(tempDir('mh-perm-'), 'data'), startDrivers: false, metrics: false });
  });
  afterAll(async () => {
    await s?.close();
    process.umask(before);
  });

  it('data/ is 0700 and meterhub.db, -wal, -shm, ledger.key and plugins.json are 0600', async () => {
    await sellCard(s);
    await s.server.pluginHost.disable('zenner');
    const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);
    expect(mode(s.dataDir)).toBe('700');
    for (const f of ['meterhub.db', 'meterhub.db-wal', 'meterhub.db-shm', 'ledger.key', 'plugins.json']) {
      expect(existsSync(join(s.dataDir, f)), f).toBe(true);
      expect(mode(join(s.dataDir, f)), f).toBe('600');
    }
    // And nothing else in it is readable by others either.
    for (const f of readdirSync(s.dataDir)) {
      expect(statSync(join(s.dataDir, f)).mode & 0o077, f).toBe(0);
    }
  });
});

describe('issue 13 #8: the Windows equivalent is documented', () => {
  it('docs/deploy/data-directory.md names the service account ACL', async () => {
    const { readFileSync } = await import('node:fs');
    const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'deploy', 'data-directory.md'), 'utf8');
    expect(doc).toMatch(/icacls C:\\ProgramData\\MeterHub \/inheritance:r/);
    expect(doc).toMatch(/0700/);
  });
});
