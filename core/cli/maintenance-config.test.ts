/**
 * The maintenance commands (import, reconcile, backup, restore, token, audit) load one validated configuration
 * like serve and station do (core/config MAINTENANCE_SETTINGS): option > DATABASE_URL > default, and a bad value is
 * CONFIG_INVALID naming the setting in Chinese and English, exit 2, no stack trace, the URL never echoed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMaintenanceConfig } from '../config/load-config.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'mh-maint-config-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function cli(args: string[], env: Record<string, string> = {}) {
  const base: Record<string, string | undefined> = { ...process.env };
  delete base.DATABASE_URL;
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/meterhub.mjs'), ...args], {
    cwd: work,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...base, ...env },
  });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

function expectConfigInvalid(r: ReturnType<typeof cli>, names: string[]) {
  expect(r.status).toBe(2);
  expect(r.stderr).toContain('错误 error [CONFIG_INVALID]');
  for (const n of names) expect(r.stderr).toContain(n);
  // Chinese and English lines, and no stack trace.
  expect(r.stderr).toMatch(/SQLite 文件路径/);
  expect(r.stderr).toMatch(/a postgres:\/\/… URL or a SQLite file path/);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('loadMaintenanceConfig', () => {
  it('option > DATABASE_URL > default, frozen', () => {
    expect(loadMaintenanceConfig({ env: {} })).toEqual({ dataDir: './data', pluginPaths: [] });
    expect(loadMaintenanceConfig({ env: { DATABASE_URL: 'postgres://u@h/db' } }).databaseUrl).toBe('postgres://u@h/db');
    const c = loadMaintenanceConfig({
      flags: { data: '/srv/mh', databaseUrl: 'postgresql://u@h:5432/x', pluginPath: ['/p'] },
      env: { DATABASE_URL: 'postgres://other/db' },
    });
    expect(c).toEqual({ dataDir: '/srv/mh', databaseUrl: 'postgresql://u@h:5432/x', pluginPaths: ['/p'] });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('accepts PostgreSQL URLs and SQLite paths, refuses a bare word or another scheme', () => {
    for (const ok of [
      'postgres://u:p@127.0.0.1:5432/mh',
      'sqlite:./data/meterhub.db',
      ':memory:',
      'meterhub.db',
      './data/x',
      '/var/lib/meterhub/meterhub.db',
      'C:\\MeterHub\\data\\meterhub.db',
    ])
      expect(loadMaintenanceConfig({ flags: { databaseUrl: ok }, env: {} }).databaseUrl).toBe(ok);
    for (const bad of ['notaurl', 'mysql://u@h/db', ''])
      expect(() => loadMaintenanceConfig({ flags: { databaseUrl: bad }, env: {} })).toThrow(
        expect.objectContaining({
          code: 'CONFIG_INVALID',
          details: { settings: [expect.objectContaining({ setting: 'databaseUrl' })] },
        }),
      );
  });
});

describe('the maintenance commands validate their configuration before opening anything', () => {
  it('import cards --database-url notaurl: CONFIG_INVALID naming --database-url, exit 2, the URL not echoed', () => {
    const r = cli(['import', 'cards', '--file', join(work, 'none.csv'), '--database-url', 'notaurl', '--data', work]);
    expectConfigInvalid(r, ['--database-url', 'DATABASE_URL']);
    expect(r.stderr).not.toContain('notaurl');
  });

  it('token list with DATABASE_URL=notaurl: the same error from the variable, no database file made', () => {
    const r = cli(['token', 'list', '--data', join(work, 'never')], { DATABASE_URL: 'notaurl' });
    expectConfigInvalid(r, ['DATABASE_URL']);
    expect(existsSync(join(work, 'notaurl'))).toBe(false);
  });

  it('audit verify --data "": CONFIG_INVALID naming --data', () => {
    const r = cli(['audit', 'verify', '--data', '']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('[CONFIG_INVALID]');
    expect(r.stderr).toContain('--data');
    expect(r.stderr).toContain('不能为空');
    expect(r.stderr).toContain('must not be empty');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('backup, restore and reconcile refuse a bad --database-url the same way', () => {
    for (const args of [
      ['backup', '--data', work, '--out', join(work, 'b.tar.gz'), '--database-url', 'mysql://u@h/db'],
      ['restore', '--data', join(work, 'r'), '--from', join(work, 'none.tar.gz'), '--database-url', 'notaurl'],
      ['reconcile', 'cards', '--file', join(work, 'none.csv'), '--database-url', 'notaurl', '--data', work],
    ])
      expectConfigInvalid(cli(args), ['--database-url']);
  });
});
