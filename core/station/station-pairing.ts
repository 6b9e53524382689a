/**
 * Pairing keys (配对密钥): the proof a caller of the station's local API shows on every call that reads or
 * changes a card. `meterhub station pair` makes one per client (the company's web app, the counter page, the
 * `meterhub card` CLI) and prints it ONCE; the station keeps only its SHA-256 in <data>/station-pairings.json,
 * created 0600 in a 0700 folder, so another local user cannot read it and a stolen copy of the file is no key.
 *
 * The file is re-read when it changes, so pairing or unpairing takes effect without restarting the station.
 * The key itself is never logged, never put in an error and never sent to the central server.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StationBadInput } from './station-errors.ts';

export const PAIRINGS_FILE = 'station-pairings.json';
const KEY_RE = /^mhs_[A-Za-z0-9_-]{43}$/;
const NAME_RE = /^[A-Za-z0-9_.:@-]{1,64}$/;

export interface Pairing {
  name: string;
  keySha256: string;
  created: string;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

function pathOf(dataDir: string): string {
  return join(dataDir, PAIRINGS_FILE);
}

export function readPairings(dataDir: string): Pairing[] {
  const p = pathOf(dataDir);
  if (!existsSync(p)) return [];
  const parsed = JSON.parse(readFileSync(p, 'utf8')) as { pairings?: Pairing[] };
  return (parsed.pairings ?? []).filter((x) => typeof x.keySha256 === 'string' && /^[0-9a-f]{64}$/.test(x.keySha256));
}

function writePairings(dataDir: string, pairings: Pairing[]): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // The folder may predate this file (plugin state); tighten it whatever the umask was.
  chmodSync(dataDir, 0o700);
  const tmp = `${pathOf(dataDir)}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ version: 1, pairings }, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, pathOf(dataDir));
}

/** Makes a pairing key for `name` (replacing an earlier one of that name) and returns it: shown once, kept nowhere. */
export function createPairing(dataDir: string, name: string): { name: string; key: string } {
  if (!NAME_RE.test(name)) {
    throw StationBadInput(
      { field: 'name' },
      { zh: '名称应为 1-64 个字母数字或 _.:@-', en: 'the name must be 1-64 of [A-Za-z0-9_.:@-]' },
    );
  }
  const key = `mhs_${randomBytes(32).toString('base64url')}`;
  const rest = readPairings(dataDir).filter((p) => p.name !== name);
  writePairings(dataDir, [
    ...rest,
    { name, keySha256: sha256(key).toString('hex'), created: new Date().toISOString() },
  ]);
  return { name, key };
}

/** Removes the pairing called `name`; true if there was one. */
export function removePairing(dataDir: string, name: string): boolean {
  const all = readPairings(dataDir);
  const rest = all.filter((p) => p.name !== name);
  if (rest.length !== all.length) writePairings(dataDir, rest);
  return rest.length !== all.length;
}

/** What the station checks keys against; follows the file as it changes. */
export class PairingStore {
  private cached: Pairing[] = [];
  private stamp = '';

  constructor(readonly dataDir: string) {}

  private current(): Pairing[] {
    const p = pathOf(this.dataDir);
    let stamp = 'none';
    try {
      const s = statSync(p);
      stamp = `${s.mtimeMs}:${s.size}:${s.ino}`;
    } catch {
      /* no file: nobody is paired */
    }
    if (stamp !== this.stamp) {
      this.cached = stamp === 'none' ? [] : readPairings(this.dataDir);
      this.stamp = stamp;
    }
    return this.cached;
  }

  get count(): number {
    return this.current().length;
  }

  /** The pairing this key belongs to, or null. Compares digests in constant time. */
  verify(key: unknown): Pairing | null {
    if (typeof key !== 'string' || !KEY_RE.test(key)) return null;
    const digest = sha256(key);
    let found: Pairing | null = null;
    for (const p of this.current()) {
      if (timingSafeEqual(digest, Buffer.from(p.keySha256, 'hex'))) found = p;
    }
    return found;
  }
}
