/**
 * Looking a profile up by *name* without a registry: the codec's convenience overloads (`buildReadReply('le', …)`)
 * and tests. Every program builds its own ProfileRegistry (serve: core/server/server.ts; gateway, simulate, chaos:
 * core/plugins/plugin-profiles.ts) and hands resolved profiles or the registry to what decodes, so no program
 * pushes into the lookup below: in a program it holds the built-in dialects only. Only a test run adds to it
 * (`seedProfilesForTests`, the vitest setup), so tests can keep naming the bundled plugins' dialects.
 */
import type { MeterHubError } from '../errors/meterhub-error.ts';
import type { DialectProfile } from './frame-types.ts';
import { ProfileRegistry } from './profile-registry.ts';

export { COMPANY_PROFILE, BUILTIN_PROFILES } from './builtin-profiles.ts';
export { DEFAULT_READING_METER_TYPES, profileReadsMeterType, validateProfile } from './profile-validation.ts';
export { ProfileRegistry, readProfileFile, type ProfileSink } from './profile-registry.ts';

const namedProfiles = new ProfileRegistry();

/**
 * Test runs only: copies a registry's profiles (e.g. `bundledPluginProfiles()`) into the by-name lookup, as a
 * program's registry has them once its plugin host has pushed. Names already known keep their profile.
 */
export function seedProfilesForTests(from: Pick<ProfileRegistry, 'list' | 'ownerOf'>): void {
  for (const p of from.list()) if (!namedProfiles.has(p.name)) namedProfiles.register(p, from.ownerOf(p.name));
}

/** Test runs only: adds one dialect to the by-name lookup (programs register into their own ProfileRegistry). */
export function registerProfile(profile: DialectProfile): DialectProfile {
  return namedProfiles.register(profile);
}

/** Registers every <dir>/<maker>/telemetry/*.profile.json in the by-name lookup; broken files are recorded. */
export function loadProfilesFrom(dir: string): DialectProfile[] {
  return namedProfiles.loadFrom(dir);
}

/** Looks a profile up by name; an unknown name throws TELEMETRY_PROFILE_UNKNOWN listing the known ones. */
export function getProfile(name: string): DialectProfile {
  return namedProfiles.get(name);
}

/** Accepts a profile or its name, so call sites can pass either. */
export function resolveProfile(profile: DialectProfile | string): DialectProfile {
  return namedProfiles.resolve(profile);
}

export function listProfiles(): DialectProfile[] {
  return namedProfiles.list();
}

/** Declared profiles that failed to load (shown by `meterhub telemetry profiles` and at startup). */
export function profileLoadErrors(): readonly MeterHubError[] {
  return namedProfiles.loadErrors();
}
