import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getProfile, listProfiles, loadProfilesFrom, profileLoadErrors, validateProfile } from './index.ts';

describe('profile registry', () => {
  it('has the company standard and the generic le/be variants', () => {
    expect(getProfile('cjt188-company')).toMatchObject({
      diOrder: 'le',
      clockOrder: 'le',
      preamble: 4,
      errorReply: 'di-ser-st',
    });
    expect(getProfile('le')).toMatchObject({ diOrder: 'le', clockOrder: 'le' });
    expect(getProfile('be')).toMatchObject({ diOrder: 'be', clockOrder: 'le' });
    expect(listProfiles().map((p) => p.name)).toEqual(expect.arrayContaining(['be', 'chint', 'cjt188-company', 'le']));
    expect(profileLoadErrors()).toEqual([]);
  });

  it('an unknown name is a clear error naming the known profiles', () => {
    try {
      getProfile('kingda');
      expect.unreachable();
    } catch (e) {
      expect((e as { code: string }).code).toBe('TELEMETRY_PROFILE_UNKNOWN');
      expect((e as Error).message).toMatch(/kingda.*cjt188-company/);
    }
  });

  it('validates profile data', () => {
    const ok = { name: 'x', diOrder: 'le', clockOrder: 'le', preamble: 2, source: 's' };
    expect(validateProfile(ok).name).toBe('x');
    for (const bad of [
      { ...ok, diOrder: 'middle' },
      { ...ok, preamble: -1 },
      { ...ok, source: '' },
      { ...ok, errorReply: 'nope' },
      { ...ok, statusBits: [{ byte: 0, bit: 1, code: 'X', zh: 'x', en: 'x' }] },
      { ...ok, privateDis: { '90x1': { zh: 'a', en: 'b' } } },
      { ...ok, valveCodes: { '00': 'ajar' } },
    ]) {
      expect(() => validateProfile(bad)).toThrow(/TELEMETRY_PROFILE_INVALID/);
    }
  });

  it('loads maker profiles from plugins/<maker>/telemetry/*.profile.json and records broken ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mh-profiles-'));
    mkdirSync(join(dir, 'acme', 'telemetry'), { recursive: true });
    writeFileSync(
      join(dir, 'acme', 'telemetry', 'acme.profile.json'),
      JSON.stringify({ name: 'acme', maker: 'acme', diOrder: 'be', clockOrder: 'be', preamble: 3, source: 'test' }),
    );
    writeFileSync(join(dir, 'acme', 'telemetry', 'broken.profile.json'), '{ nope');
    const before = profileLoadErrors().length;
    const loaded = loadProfilesFrom(dir);
    expect(loaded.map((p) => p.name)).toEqual(['acme']);
    expect(getProfile('acme').clockOrder).toBe('be');
    expect(profileLoadErrors().length).toBe(before + 1);
  });
});
