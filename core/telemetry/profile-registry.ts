/**
 * A set of dialect profiles, owned by the program that builds it. Telemetry only defines the registry and its
 * sink interface; whoever knows where profiles come from (the plugin host: bundled folder, METERHUB_PLUGIN_PATH,
 * enabled state) pushes them in. That keeps this low layer free of any import of plugins.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MeterHubError } from '../errors/meterhub-error.ts';
import { ProfileDisabled, ProfileInvalid, ProfileUnknown } from './errors.ts';
import type { DialectProfile } from './frame-types.ts';
import { BUILTIN_PROFILES } from './builtin-profiles.ts';
import { validateProfile } from './profile-validation.ts';

/** What a profile provider (the plugin host) may do to a registry: add profiles, hold back a disabled one's name. */
export interface ProfileSink {
  /** Validates and adds a profile; `owner` (a plugin id) is shown when two owners claim one name. */
  register(profile: unknown, owner?: string): DialectProfile;
  /** The name is declared by a disabled plugin: looking it up throws TELEMETRY_PROFILE_DISABLED naming `owner`. */
  withhold(name: string, owner: string): void;
  /** A declared profile that could not be loaded: kept for `telemetry profiles` and startup logs, never fatal. */
  recordLoadError(error: MeterHubError): void;
}

export class ProfileRegistry implements ProfileSink {
  private readonly profiles = new Map<string, { profile: DialectProfile; owner?: string | undefined }>();
  private readonly withheld = new Map<string, string>();
  private readonly errors: MeterHubError[] = [];

  constructor(builtins: readonly DialectProfile[] = BUILTIN_PROFILES) {
    for (const p of builtins) this.profiles.set(p.name, { profile: Object.freeze({ ...p }) });
  }

  register(profile: unknown, owner?: string): DialectProfile {
    const p = Object.freeze(validateProfile(profile, (profile as { name?: string } | null)?.name ?? owner));
    const prior = this.profiles.get(p.name);
    // A maker may not silently replace the company standard or another maker's dialect: the frames would change.
    if (prior && prior.owner !== owner) {
      const by = prior.owner ?? 'built-in';
      throw ProfileInvalid(
        { name: p.name, owner: owner ?? null, declaredBy: by },
        {
          zh: `方言名 “${p.name}” 已由 ${by} 提供`,
          en: `profile name "${p.name}" is already declared by ${by}`,
        },
      );
    }
    this.withheld.delete(p.name);
    this.profiles.set(p.name, { profile: p, owner });
    return p;
  }

  withhold(name: string, owner: string): void {
    const prior = this.profiles.get(name);
    if (prior && prior.owner !== owner) return; // a built-in or another maker's profile keeps its name
    this.profiles.delete(name);
    this.withheld.set(name, owner);
  }

  recordLoadError(error: MeterHubError): void {
    // A provider pushes again on every enable/disable: one broken file is one entry, not one per push.
    if (this.errors.some((e) => e.code === error.code && e.en === error.en)) return;
    this.errors.push(error);
  }

  /** Looks a profile up by name: TELEMETRY_PROFILE_DISABLED for a disabled plugin's, else UNKNOWN listing the known. */
  get(name: string): DialectProfile {
    const hit = this.profiles.get(name);
    if (hit) return hit.profile;
    const owner = this.withheld.get(name);
    if (owner !== undefined) {
      throw ProfileDisabled(
        { name, plugin: owner },
        {
          zh: `方言 “${name}” 属于插件 ${owner}；请先执行 meterhub plugins enable ${owner}`,
          en: `profile "${name}" belongs to plugin ${owner}; run: meterhub plugins enable ${owner}`,
        },
      );
    }
    const known = [...this.profiles.keys()].sort().join(', ');
    throw ProfileUnknown({ name, known }, { zh: `“${name}”，可用：${known}`, en: `"${name}", known: ${known}` });
  }

  /** Accepts a profile or its name, so call sites can pass either. */
  resolve(profile: DialectProfile | string): DialectProfile {
    return typeof profile === 'string' ? this.get(profile) : profile;
  }

  has(name: string): boolean {
    return this.profiles.has(name);
  }

  list(): DialectProfile[] {
    return [...this.profiles.values()].map((e) => e.profile).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Which plugin declared a profile (undefined for built-ins and loose files). */
  ownerOf(name: string): string | undefined {
    return this.profiles.get(name)?.owner;
  }

  loadErrors(): readonly MeterHubError[] {
    return this.errors;
  }

  /** Loads one profile JSON file and registers it. */
  loadFile(path: string, owner?: string): DialectProfile {
    return this.register(readProfileFile(path), owner);
  }

  /**
   * Registers every <dir>/<maker>/telemetry/*.profile.json; broken files are recorded, not fatal. Kept for
   * loose profile folders; plugins declare their profiles in the manifest instead (sdk/meterhub-plugin.schema.json).
   */
  loadFrom(dir: string): DialectProfile[] {
    const loaded: DialectProfile[] = [];
    if (!existsSync(dir)) return loaded;
    for (const maker of readdirSync(dir).sort()) {
      const sub = join(dir, maker, 'telemetry');
      if (!existsSync(sub)) continue;
      for (const f of readdirSync(sub)
        .filter((n) => n.endsWith('.profile.json'))
        .sort()) {
        try {
          loaded.push(this.loadFile(join(sub, f)));
        } catch (e) {
          this.recordLoadError(e as MeterHubError);
        }
      }
    }
    return loaded;
  }
}

/** Reads and validates one profile file; throws TELEMETRY_PROFILE_INVALID naming the file. */
export function readProfileFile(path: string): DialectProfile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw ProfileInvalid({ path }, { zh: `无法读取 ${path}`, en: `cannot read ${path}: ${(e as Error).message}` });
  }
  return validateProfile(parsed, path);
}
