/**
 * Card passwords (oldKey/newKey) at rest: AES-256-GCM under a server key.
 *
 * A keyed hash would be enough to *check* a password, but an idempotent retry must hand back the very same
 * keys, so they are encrypted, never stored in clear. The key comes from METERHUB_LEDGER_KEY (64 hex chars
 * or base64 of 32 bytes; required when several instances share one PostgreSQL) or from <dataDir>/ledger.key,
 * generated on first start with mode 0600. The transaction id is the additional authenticated data, so a
 * ciphertext copied onto another row does not decrypt.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { ensurePrivateDir } from '../db/private-files.ts';
import { join, resolve } from 'node:path';
import { LedgerKeyInvalid } from './ledger-errors.ts';
import { environment, type Environment } from '../config/environment.ts';

export const LEDGER_KEY_FILE = 'ledger.key';
const VERSION = 'v1';

export interface KeyVaultSource {
  /** Where the key came from, for logs and /health (never the key itself). */
  source: 'env' | 'file' | 'memory';
  keyId: string;
  path?: string;
  /** Set when an existing key file is readable by group/others. */
  warning?: string;
}

/** What the ledger thread receives to rebuild the vault (see KeyVault.forThread). */
export interface VaultForThread {
  key: Uint8Array;
  info: KeyVaultSource;
}

function parseKey(text: string): Buffer {
  const t = text.trim();
  const buf = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (buf.length !== 32)
    throw LedgerKeyInvalid({}, { zh: '密钥必须是32字节', en: 'the key must be 32 bytes (64 hex or base64)' });
  return buf;
}

export class KeyVault {
  readonly keyId: string;
  private readonly keys = new Map<string, Buffer>();

  constructor(
    private readonly key: Buffer,
    readonly info: KeyVaultSource = { source: 'memory', keyId: '' },
  ) {
    if (key.length !== 32) throw LedgerKeyInvalid({}, { en: 'the key must be 32 bytes' });
    this.keyId = createHash('sha256').update(key).digest('hex').slice(0, 8);
    this.keys.set(this.keyId, key);
    this.info = { ...info, keyId: this.keyId };
  }

  /** Env first, then the key file (created 0600 when missing). */
  static load(opts: { dataDir: string; env?: Environment }): KeyVault {
    const env = opts.env ?? environment();
    if (env.METERHUB_LEDGER_KEY?.trim())
      return new KeyVault(parseKey(env.METERHUB_LEDGER_KEY), { source: 'env', keyId: '' });
    const dir = resolve(opts.dataDir);
    const path = join(dir, LEDGER_KEY_FILE);
    if (!existsSync(path)) {
      ensurePrivateDir(dir);
      try {
        // 'wx' so two processes starting at once never overwrite each other's key.
        writeFileSync(path, randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      chmodSync(path, 0o600);
    }
    const mode = statSync(path).mode & 0o777;
    const warning =
      mode & 0o077 ? `${path} is readable by group/others (mode ${mode.toString(8)}); chmod 600 it` : undefined;
    return new KeyVault(parseKey(readFileSync(path, 'utf8')), {
      source: 'file',
      keyId: '',
      path,
      ...(warning ? { warning } : {}),
    });
  }

  /**
   * A copy of this vault for the ledger thread of this same process (core/ledger/thread/), passed as worker
   * data: memory to memory, never through a file, a pipe or a log.
   */
  forThread(): VaultForThread {
    return { key: new Uint8Array(this.key), info: this.info };
  }

  static fromThread(v: VaultForThread): KeyVault {
    return new KeyVault(Buffer.from(v.key), v.info);
  }

  static random(): KeyVault {
    return new KeyVault(randomBytes(32));
  }

  encrypt(plain: string, aad: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    c.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return `${VERSION}:${this.keyId}:${Buffer.concat([iv, c.getAuthTag(), body]).toString('base64')}`;
  }

  decrypt(blob: string, aad: string): string {
    const [version, kid, b64] = blob.split(':');
    const key = kid ? this.keys.get(kid) : undefined;
    if (version !== VERSION || !key || !b64) {
      throw LedgerKeyInvalid(
        { keyId: kid ?? null },
        { zh: '密文使用了未知的密钥', en: 'the ciphertext was made with an unknown key' },
      );
    }
    const raw = Buffer.from(b64, 'base64');
    try {
      const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      d.setAAD(Buffer.from(aad, 'utf8'));
      d.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
    } catch {
      throw LedgerKeyInvalid({ keyId: kid }, { zh: '密文校验失败', en: 'authentication of the ciphertext failed' });
    }
  }
}
