/** `meterhub inspect` through the real CLI entry (bin/meterhub.mjs), spawned. */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildElf } from './elf-builder.ts';
import { REPO_ROOT, makeTempDir } from './test-support.ts';

const tmp = makeTempDir();
afterAll(() => tmp.cleanup());

function cli(...args: string[]) {
  const res = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'meterhub.mjs'), 'inspect', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    cwd: REPO_ROOT,
  });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

const lib = join(tmp.dir, 'libmaker.so');
writeFileSync(
  lib,
  buildElf({
    bits: 64,
    endian: 'little',
    machine: 62,
    soname: 'libmaker.so',
    symbols: [
      'Gold_Writecard',
      'Gold_Readcard',
      'Gold_Buycard',
      'Gold_Formatcard',
      'Gold_CheckCard',
      'Check4442Card',
    ].map((name) => ({ name, type: 'FUNC', bind: 'GLOBAL', defined: true })),
  }),
);

describe('meterhub inspect (CLI)', () => {
  it('--json prints the report; exit 0', () => {
    const r = cli(lib, '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({
      format: 'ELF64',
      machine: { name: 'x86-64' },
      libraryName: 'libmaker.so',
      present: ['Check4442Card'],
    });
    // An ELF symbol table shows no signatures and no popped bytes: names alone are never suggested.
    expect(report.suggestedSymbols).toEqual({});
  });

  it('--symbols takes a map file (or a plugin manifest) and --card-type narrows suggestions', () => {
    const map = join(tmp.dir, 'map.json');
    writeFileSync(
      map,
      JSON.stringify({
        WriteNew4442Card: 'Gold_Writecard',
        Read4442Card: 'Gold_Readcard',
        Buy4442Card: 'Gold_Buycard',
        Format4442Card: 'Gold_Formatcard',
      }),
    );
    const r = JSON.parse(cli(lib, '--json', '--symbols', map).stdout);
    expect(r.completeCardTypes).toEqual(['4442']);
    const manifest = join(tmp.dir, 'meterhub-plugin.json');
    writeFileSync(
      manifest,
      JSON.stringify({ id: 'x', library: { 'linux-x64': 'libmaker.so' }, symbols: { Buy102Card: 'Gold_Buycard' } }),
    );
    const m = JSON.parse(cli(lib, '--json', '--symbols', manifest, '--card-type', '102').stdout);
    expect(m.functions.find((f: { name: string }) => f.name === 'Buy102Card')).toMatchObject({
      present: true,
      via: 'symbol-map',
    });
    expect(m.suggestedSymbols).toEqual({});
  });

  it('human-readable output is bilingual', () => {
    const r = cli(lib);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('格式 Format: ELF64');
    expect(r.stdout).toContain('卡类型 Card types');
    expect(r.stdout).not.toContain('建议的符号映射');
    expect(r.stdout).toMatch(/本机加载 This host/);
  });

  it('a text file: INSPECT_BAD_FILE, exit 2, JSON error with --json', () => {
    const txt = join(tmp.dir, 'notes.txt');
    writeFileSync(txt, 'hello\n');
    const r = cli(txt, '--json');
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'INSPECT_BAD_FILE' });
    expect(r.stderr).toContain('[INSPECT_BAD_FILE]');
    const plain = cli(join(tmp.dir, 'missing.dll'));
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain('INSPECT_FILE_NOT_FOUND');
    const badMap = join(tmp.dir, 'bad.json');
    writeFileSync(badMap, '{not json');
    expect(cli(lib, '--symbols', badMap).code).toBe(2);
  });
});
