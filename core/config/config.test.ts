/**
 * One validated, frozen configuration per program (issue 15): option > environment variable > default, a bad
 * value is CONFIG_INVALID naming the setting in Chinese and English (never a stack trace, never a secret), and
 * `meterhub serve --port abc` / `meterhub station --psam-slot 9` say so and exit 2.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadServerConfig, loadStationConfig } from './load-config.ts';
import { CARD_CLIENT_SETTINGS, SERVER_SETTINGS, STATION_SETTINGS } from './settings.ts';

const ROOT = join(import.meta.dirname, '..', '..');

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/meterhub.mjs'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ...env },
  });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe('loadServerConfig', () => {
  it('defaults, then the environment, then the option', () => {
    expect(loadServerConfig({ env: {} })).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      dataDir: './data',
      logLevel: 'info',
      adoption: 'ops',
    });
    expect(loadServerConfig({ env: { PORT: '9000', METERHUB_LOG_LEVEL: 'warn' } })).toMatchObject({
      port: 9000,
      logLevel: 'warn',
    });
    expect(
      loadServerConfig({ flags: { port: '0', logLevel: 'error' }, env: { PORT: '9000', METERHUB_LOG_LEVEL: 'warn' } }),
    ).toMatchObject({ port: 0, logLevel: 'error' });
  });

  it('splits lists and keeps an empty METERHUB_REQUIRED_PLUGINS (it means none)', () => {
    const sep = process.platform === 'win32' ? ';' : ':';
    const c = loadServerConfig({
      env: {
        METERHUB_PLUGIN_PATH: `/a${sep}/b${sep}`,
        METERHUB_METRICS_ALLOW: '10.0.0.0/8, ::1',
        METERHUB_REQUIRED_PLUGINS: '',
      },
    });
    expect(c.pluginPathEnv).toEqual(['/a', '/b']);
    expect(c.metricsAllow).toEqual(['10.0.0.0/8', '::1']);
    expect(c.requiredPlugins).toBe('');
    expect(c.headersTimeoutMs).toBeUndefined();
  });

  it('is frozen', () => {
    const c = loadServerConfig({ flags: { pluginPath: ['/x'] }, env: {} });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.pluginPaths)).toBe(true);
    expect(() => {
      (c as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('names every bad setting with its option and variable, in Chinese and English', () => {
    let err: any;
    try {
      loadServerConfig({
        flags: { port: 'abc' },
        env: { METERHUB_LOG_LEVEL: 'loud', METERHUB_MAX_CONNECTIONS: '0', METERHUB_ADOPTION: 'everyone' },
      });
    } catch (e) {
      err = e;
    }
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.details.settings.map((s: { setting: string }) => s.setting)).toEqual([
      'port',
      'logLevel',
      'maxConnections',
      'adoption',
    ]);
    expect(err.details.settings[0]).toEqual({ setting: 'port', option: '--port', env: 'PORT', value: 'abc' });
    expect(err.zh).toContain('port（--port / PORT） = "abc"：应为 0-65535 的整数');
    expect(err.en).toContain('port (--port / PORT) = "abc": must be a whole number 0-65535');
    expect(err.en).toContain('METERHUB_ADOPTION');
  });

  it('never echoes a secret', () => {
    let err: any;
    try {
      loadStationConfig({ flags: { token: 'counter-secret-token-value', psamSlot: 'x' }, env: {} });
    } catch (e) {
      err = e;
    }
    expect(err.code).toBe('CONFIG_INVALID');
    // A secret that is valid is not in the error; a secret that is bad is named without its value.
    expect(JSON.stringify(err)).not.toContain('counter-secret-token-value');
    // An empty variable is unset, not an error.
    expect(loadServerConfig({ env: { DATABASE_URL: ' ' } }).databaseUrl).toBeUndefined();
  });

  it('every environment variable belongs to one setting per program', () => {
    for (const table of [SERVER_SETTINGS, STATION_SETTINGS]) {
      const vars = table.flatMap((s) => (s.env ? [s.env] : []));
      expect(new Set(vars).size).toBe(vars.length);
      expect(new Set(table.map((s) => s.key)).size).toBe(table.length);
    }
  });
});

describe('the CLI validates its configuration once, before starting', () => {
  it('meterhub serve --port abc: CONFIG_INVALID naming --port, no stack trace, exit 2', () => {
    const r = cli(['serve', '--port', 'abc', '--data', join(ROOT, 'build', 'never-created')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('[CONFIG_INVALID]');
    expect(r.stderr).toContain('--port');
    expect(r.stderr).toMatch(/0-65535/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a bad environment variable is named the same way (METERHUB_LOG_LEVEL)', () => {
    const r = cli(['serve', '--port', '0'], { METERHUB_LOG_LEVEL: 'loud' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('METERHUB_LOG_LEVEL');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('meterhub station --psam-slot 9: CONFIG_INVALID, exit 2', () => {
    const r = cli(['station', '--reader', 'sim', '--server', 'http://127.0.0.1:1', '--psam-slot', '9']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('[CONFIG_INVALID]');
    expect(r.stderr).toContain('--psam-slot');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("the operators' table of variables", () => {
  it('docs/deploy/README.md lists every variable a program reads', () => {
    const doc = readFileSync(join(ROOT, 'docs/deploy/README.md'), 'utf8');
    const vars = [...SERVER_SETTINGS, ...STATION_SETTINGS, ...CARD_CLIENT_SETTINGS].flatMap((s) =>
      s.env ? [s.env] : [],
    );
    expect(vars.filter((v) => !doc.includes(`\`${v}\``))).toEqual([]);
  });
});
