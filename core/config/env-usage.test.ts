/**
 * Nothing outside core/config reads `process.env` (issue 15): settings come from the validated configuration,
 * so every variable is in one table (settings.ts) with its default and its error. The files allowed below are
 * test support and build scripts that read their own knobs, or code text run in a child process.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const SCANNED = ['core', 'gateways', 'plugins', 'bin', 'sdk'];

/** file → why it may read process.env, and which variables (anything else in the file still fails). */
const ALLOWED: Record<string, { why: string; vars: RegExp }> = {
  'core/config/environment.ts': { why: 'the one reader', vars: /.*/ },
  'core/station/sim-control.ts': {
    why: 'source text of the stand-in meter child process (its own arguments)',
    vars: /^(MH_KOFFI|MH_ARGS)$/,
  },
  'core/driver/test-fixtures/build-fixture.ts': {
    why: 'compiles a test fixture with the C compiler of CC',
    vars: /^CC$/,
  },
  'core/testing/services.ts': {
    why: 'test services (PostgreSQL, MQTT) for the suites',
    vars: /^(TEST_DATABASE_URL|TEST_MQTT_URL|CI)$/,
  },
  'core/testing/module-trace.mjs': {
    why: 'test hook run with --import before any MeterHub module',
    vars: /^MODULE_TRACE$/,
  },
  'core/inspect/test-support.ts': { why: 'test support', vars: /^CI$/ },
  'plugins/tancy/bridge/build.mjs': {
    why: 'build script of the .NET bridge (compiler location)',
    vars: /^(MCS|WINDIR)$/,
  },
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (name === 'node_modules' || name === 'build') return [];
    if (statSync(p).isDirectory()) return sources(p);
    return /\.(ts|mts|mjs|js|cjs)$/.test(name) && !/\.test\.[cm]?[jt]s$/.test(name) ? [p] : [];
  });
}

describe('process.env is read only in core/config', () => {
  it('no other production file reads it', () => {
    const offenders: string[] = [];
    for (const file of SCANNED.flatMap((d) => sources(join(ROOT, d)))) {
      const rel = relative(ROOT, file).split('\\').join('/');
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/process\.env(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[[^\]]*\])?/g)) {
        const rule = ALLOWED[rel];
        if (!rule || !rule.vars.test(m[1] ?? '')) offenders.push(`${rel}: ${m[0]}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('every allowed file still needs its exception (no stale entries)', () => {
    for (const file of Object.keys(ALLOWED)) expect(readFileSync(join(ROOT, file), 'utf8')).toMatch(/process\.env/);
  });
});
