/** The published schema is what the host validates with: makers' editors and MeterHub agree on every field. */
import { readdirSync, existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { manifestProblems, MANIFEST_SCHEMA_FILE } from './manifest-schema.ts';
import { MAKER_ID_PATTERN } from '../wire/patterns.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const good = {
  id: 'acme',
  name: { 'zh-CN': '测试', en: 'Acme' },
  cardTypes: ['4442'],
  library: { 'linux-x64': 'lib/libacme.so' },
  catalogues: { returnCodes: [], toolCards: [] },
};

describe('sdk/meterhub-plugin.schema.json', () => {
  it('spells the maker id as the wire does (JSON cannot import the one pattern, so this test ties them)', () => {
    const schema = JSON.parse(readFileSync(MANIFEST_SCHEMA_FILE, 'utf8')) as {
      properties: { id: { pattern: string } };
    };
    expect(schema.properties.id.pattern).toBe(MAKER_ID_PATTERN);
  });
  it('is published in the SDK and every bundled manifest satisfies it', () => {
    expect(MANIFEST_SCHEMA_FILE).toBe(join(ROOT, 'sdk', 'meterhub-plugin.schema.json'));
    const check = new Ajv2020({ allErrors: true, strict: false }).compile(
      JSON.parse(readFileSync(MANIFEST_SCHEMA_FILE, 'utf8')),
    );
    const dirs = readdirSync(join(ROOT, 'plugins'))
      .filter((d) => existsSync(join(ROOT, 'plugins', d, 'meterhub-plugin.json')))
      .sort();
    expect(dirs.length).toBe(6);
    for (const d of dirs) {
      const m = JSON.parse(readFileSync(join(ROOT, 'plugins', d, 'meterhub-plugin.json'), 'utf8'));
      expect(check(m), `${d}: ${JSON.stringify(check.errors)}`).toBe(true);
    }
  });

  it('refuses the removed module field, unknown fields and bad telemetry entries, naming each field (zh, en)', () => {
    const problems = manifestProblems({
      ...good,
      module: 'index.ts',
      telemtry: {},
      telemetry: {
        profiles: ['/etc/acme.profile.json'],
        testVectors: [{ name: 'x', profile: 'acme', hex: 'zz', expect: {} }],
      },
    });
    expect(problems.map((p) => p.field)).toEqual([
      'module',
      'telemtry',
      'telemetry.profiles.0',
      'telemetry.testVectors.0.hex',
      'telemetry.testVectors.0.expect',
    ]);
    expect(problems[0]!.zh).toMatch(/module 字段已取消/);
    expect(problems[0]!.en).toMatch(/module is no longer a manifest field/);
    expect(problems[1]!.en).toBe('unknown field telemtry (a typo? custom fields start with x-)');
    for (const p of problems) {
      expect(p.zh).toContain(p.field);
      expect(p.en).toContain(p.field);
    }
  });

  it('accepts x- fields, $schema and a telemetry section', () => {
    expect(
      manifestProblems({
        ...good,
        $schema: '../sdk/meterhub-plugin.schema.json',
        'x-notes': 'anything',
        telemetry: { profiles: ['telemetry/acme.profile.json'], testVectors: 'telemetry/acme.vectors.json' },
      }),
    ).toEqual([]);
  });
});
