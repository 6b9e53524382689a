/**
 * The process's default profile registry, for call sites that name a profile without being handed a registry
 * (gateway configs, simulators, tests). It starts with the built-in dialects only. Nothing here scans plugin
 * folders: a plugin host pushes its enabled plugins' profiles into the registry its program gives it (this one
 * unless the program passes its own), honouring METERHUB_PLUGIN_PATH and the enabled state.
 */
import type { MeterHubError } from '../errors/meterhub-error.ts';
import type { DialectProfile } from './frame-types.ts';
import { ProfileRegistry } from './profile-registry.ts';

export { COMPANY_PROFILE, BUILTIN_PROFILES } from './builtin-profiles.ts';
export { DEFAULT_READING_METER_TYPES, profileReadsMeterType, validateProfile } from './profile-validation.ts';
export { ProfileRegistry, readProfileFile, type ProfileSink } from './profile-registry.ts';

export const defaultProfiles = new ProfileRegistry();

export function registerProfile(profile: DialectProfile): DialectProfile {
  return defaultProfiles.register(profile);
}

/** Loads one profile JSON file and registers it in the default registry. */
export function loadProfileFile(path: string): DialectProfile {
  return defaultProfiles.loadFile(path);
}

/** Registers every <dir>/<maker>/telemetry/*.profile.json in the default registry; broken files are recorded. */
export function loadProfilesFrom(dir: string): DialectProfile[] {
  return defaultProfiles.loadFrom(dir);
}

/** Looks a profile up by name; an unknown name throws TELEMETRY_PROFILE_UNKNOWN listing the known ones. */
export function getProfile(name: string): DialectProfile {
  return defaultProfiles.get(name);
}

/** Accepts a profile or its name, so call sites can pass either. */
export function resolveProfile(profile: DialectProfile | string): DialectProfile {
  return defaultProfiles.resolve(profile);
}

export function listProfiles(): DialectProfile[] {
  return defaultProfiles.list();
}

/** Declared profiles that failed to load (shown by `meterhub telemetry profiles` and at startup). */
export function profileLoadErrors(): readonly MeterHubError[] {
  return defaultProfiles.loadErrors();
}
