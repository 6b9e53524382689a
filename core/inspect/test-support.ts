/**
 * Helpers for the inspect tests: toolchain detection, fixture builds in a temp dir, and the binutils
 * views (objdump -p, nm -D) the parser is cross-checked against. Not imported by production code.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const INSPECT_DIR = dirname(fileURLToPath(import.meta.url));
export const FIXTURES = join(INSPECT_DIR, 'fixtures');
export const REPO_ROOT = resolve(INSPECT_DIR, '..', '..');
export const SDK_INCLUDE = join(REPO_ROOT, 'sdk', 'include');
export const IN_CI = process.env.CI === 'true';

export function hasTool(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v "${bin}"`], { stdio: 'ignore' }).status === 0;
}

export interface Tool {
  bin: string;
  available: boolean;
  /** Skip only outside CI: in CI a missing compiler must fail the tests, not hide them. */
  skip: boolean;
  reason: string;
}

export function tool(bin: string, aptPackage: string): Tool {
  const available = hasTool(bin);
  const skip = !available && !IN_CI;
  const reason = available ? '' : `${bin} not installed (apt-get install ${aptPackage}); skipped outside CI`;
  if (skip) console.warn(`[inspect tests] ${reason}`);
  return { bin, available, skip, reason };
}

export function makeTempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'meterhub-inspect-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function run(bin: string, args: string[]): string {
  return execFileSync(bin, args, { encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Named exports and forwarders as GNU objdump -p prints them for a PE image. */
export function objdumpPeExports(file: string): { names: string[]; forwarders: string[] } | null {
  // Each mingw objdump knows only its own PE flavour; the host's may know both. Use the first that reads it.
  const bins = ['objdump', 'i686-w64-mingw32-objdump', 'x86_64-w64-mingw32-objdump'].filter(hasTool);
  let text: string | null = null;
  for (const bin of bins) {
    const res = spawnSync(bin, ['-p', file], { encoding: 'utf8', timeout: 120_000 });
    if (res.status === 0 && res.stdout.includes('Export')) {
      text = res.stdout;
      break;
    }
  }
  if (text === null) return null;
  const table = text.split('[Ordinal/Name Pointer] Table')[1];
  if (table === undefined) return { names: [], forwarders: [] };
  const names: string[] = [];
  for (const line of table.split('\n').slice(1)) {
    // binutils 2.40: "\t[   0] Name"; later versions add "+base[ N] hint"; the name is the last field.
    const m = /^\s*\[\s*\d+\]\s+(?:.*\s)?(\S+)\s*$/.exec(line);
    if (!m) break;
    names.push(m[1]!);
  }
  const forwarders = [...text.matchAll(/Forwarder RVA -- (\S+)/g)].map((m) => m[1]!);
  return { names, forwarders };
}

/** Defined dynamic symbols (functions and data) as `nm -D --defined-only` prints them. */
export function nmDynamicDefined(file: string): string[] | null {
  if (!hasTool('nm')) return null;
  return run('nm', ['-D', '--defined-only', file])
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 3 && /^[TtWwDdBbRrViu]$/.test(f[1]!))
    .map((f) => f[2]!.replace(/@.*$/, ''));
}

/** Names `readelf --dyn-syms` lists as defined GLOBAL/WEAK FUNC/OBJECT with default/protected visibility. */
export function readelfDynamicExports(file: string): string[] | null {
  if (!hasTool('readelf')) return null;
  const out: string[] = [];
  for (const line of run('readelf', ['--dyn-syms', '-W', file]).split('\n')) {
    const f = line.trim().split(/\s+/);
    // Num: Value Size Type Bind Vis Ndx Name
    if (f.length < 8 || !/^\d+:$/.test(f[0]!)) continue;
    if (!['FUNC', 'OBJECT'].includes(f[3]!) || !['GLOBAL', 'WEAK'].includes(f[4]!) || f[6] === 'UND') continue;
    if (!['DEFAULT', 'PROTECTED'].includes(f[5]!)) continue;
    out.push(f[7]!.replace(/@.*$/, ''));
  }
  return out;
}

/** Removes the section header table the way sstrip does, so only PT_DYNAMIC can find the symbols. */
export function stripSectionHeaders(buf: Buffer): Buffer {
  const b = Buffer.from(buf);
  const is64 = b[4] === 2;
  const le = b[5] === 1;
  const w16 = (o: number, v: number) => (le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o));
  if (is64) b.fill(0, 40, 48);
  else b.fill(0, 32, 36);
  w16(is64 ? 58 : 46, 0); // e_shentsize
  w16(is64 ? 60 : 48, 0); // e_shnum
  w16(is64 ? 62 : 50, 0); // e_shstrndx
  return b;
}
