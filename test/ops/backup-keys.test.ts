/**
 * The ledger key travels with the backup, or is asked for: an archive made with --no-key cannot be restored
 * without the right key; a wrong key (file or METERHUB_LEDGER_KEY) is refused before anything is written;
 * the right one (--key-file, or the environment) restores and is never copied into the data dir from the env.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../../core/ops/backup.ts';
import { restore } from '../../core/ops/restore.ts';
import { sellCard, startOpsServer, tempDir } from './support.ts';

const work = tempDir('mh-backup-keys-');
const source = join(work, 'source');
const archive = join(work, 'no-key.tar.gz');
let keyText: string;

beforeAll(async () => {
  const s = await startOpsServer({ dataDir: source, requiredPlugins: [] });
  try {
    await sellCard(s, 'songchuan');
  } finally {
    await s.close({ keepData: true });
  }
  keyText = readFileSync(join(source, 'ledger.key'), 'utf8');
  const r = await backup({ dataDir: source, out: archive, includeKey: false, env: {} });
  expect(r.manifest.ledgerKey).toMatchObject({ included: false, source: 'file' });
  expect(r.warnings.join(' ')).toMatch(/--no-key/);
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('restore and the ledger key', () => {
  it('without any key: RESTORE_KEY_MISSING, nothing written', async () => {
    const target = join(work, 't1');
    await expect(restore({ dataDir: target, from: archive, env: {} })).rejects.toMatchObject({
      code: 'RESTORE_KEY_MISSING',
    });
    expect(existsSync(join(target, 'meterhub.db'))).toBe(false);
  });

  it('a wrong key file or a wrong METERHUB_LEDGER_KEY is refused', async () => {
    const wrong = join(work, 'wrong.key');
    writeFileSync(wrong, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    await expect(restore({ dataDir: join(work, 't2'), from: archive, keyFile: wrong, env: {} })).rejects.toMatchObject({
      code: 'RESTORE_KEY_MISSING',
    });
    await expect(
      restore({
        dataDir: join(work, 't3'),
        from: archive,
        env: { METERHUB_LEDGER_KEY: randomBytes(32).toString('hex') },
      }),
    ).rejects.toMatchObject({ code: 'RESTORE_KEY_MISSING' });
    expect(existsSync(join(work, 't2', 'meterhub.db'))).toBe(false);
    expect(existsSync(join(work, 't3', 'meterhub.db'))).toBe(false);
  });

  it('the right key through --key-file is installed as ledger.key (0600)', async () => {
    const keyFile = join(work, 'kept.key');
    writeFileSync(keyFile, keyText, { mode: 0o600 });
    const r = await restore({ dataDir: join(work, 't4'), from: archive, keyFile, env: {} });
    expect(r.ledgerKey.source).toBe('key-file');
    expect(r.audit.ok).toBe(true);
    expect(readFileSync(join(work, 't4', 'ledger.key'), 'utf8')).toBe(keyText);
  });

  it('the right key in METERHUB_LEDGER_KEY restores, and is not copied into the data dir', async () => {
    const r = await restore({ dataDir: join(work, 't5'), from: archive, env: { METERHUB_LEDGER_KEY: keyText.trim() } });
    expect(r.ledgerKey.source).toBe('env');
    expect(existsSync(join(work, 't5', 'meterhub.db'))).toBe(true);
    expect(existsSync(join(work, 't5', 'ledger.key'))).toBe(false);
  });
});
