import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KeyVault, LEDGER_KEY_FILE } from './key-vault.ts';

describe('ledger key vault', () => {
  const dirs: string[] = [];
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), 'mh-kv-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('generates ./data/ledger.key once with mode 0600 and reuses it', () => {
    const d = dir();
    const a = KeyVault.load({ dataDir: d, env: {} });
    const path = join(d, LEDGER_KEY_FILE);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);
    const blob = a.encrypt('{"o":"A1B2C3"}', 'tx_1');
    expect(blob).not.toContain('A1B2C3');
    const b = KeyVault.load({ dataDir: d, env: {} });
    expect(b.keyId).toBe(a.keyId);
    expect(b.decrypt(blob, 'tx_1')).toBe('{"o":"A1B2C3"}');
    expect(a.info).toMatchObject({ source: 'file', path });
  });

  it('prefers METERHUB_LEDGER_KEY (hex or base64) and rejects a wrong-size key', () => {
    const hex = 'ab'.repeat(32);
    const v1 = KeyVault.load({ dataDir: dir(), env: { METERHUB_LEDGER_KEY: hex } });
    const v2 = KeyVault.load({
      dataDir: dir(),
      env: { METERHUB_LEDGER_KEY: Buffer.from(hex, 'hex').toString('base64') },
    });
    expect(v1.info.source).toBe('env');
    expect(v2.decrypt(v1.encrypt('x', 'id'), 'id')).toBe('x');
    expect(() => KeyVault.load({ dataDir: dir(), env: { METERHUB_LEDGER_KEY: 'abcd' } })).toThrow(/LEDGER_KEY_INVALID/);
  });

  it('warns when an existing key file is readable by others', () => {
    const d = dir();
    writeFileSync(join(d, LEDGER_KEY_FILE), 'cd'.repeat(32));
    chmodSync(join(d, LEDGER_KEY_FILE), 0o644);
    expect(KeyVault.load({ dataDir: d, env: {} }).info.warning).toMatch(/chmod 600/);
  });

  it('detects tampering with the ciphertext', () => {
    const v = KeyVault.random();
    const blob = v.encrypt('secret', 'tx');
    const raw = Buffer.from(blob.split(':')[2]!, 'base64');
    raw[raw.length - 1]! ^= 1;
    const bad = blob.split(':').slice(0, 2).join(':') + ':' + raw.toString('base64');
    expect(() => v.decrypt(bad, 'tx')).toThrow(/LEDGER_KEY_INVALID/);
  });
});
