/**
 * The one place that reads the process environment. Everything else gets its settings from a validated
 * configuration (load-config.ts) or, for the few low-level defaults that must keep working without one
 * (a KeyVault opened by a backup, a driver child inheriting the variables), from `environment()` here, so a
 * grep for `process.env` outside this folder finds only test knobs (core/config/env-usage.test.ts).
 */

export type Environment = Readonly<Record<string, string | undefined>>;

/** A frozen copy of the environment as it is now (variables set earlier in this process included). */
export function environment(): Environment {
  return Object.freeze({ ...process.env });
}

/**
 * Sets a variable for child processes started after this call (driver hosts inherit the environment), unless
 * the operator already set it. Used by the station for the simulated CPU card folder.
 */
export function exportToChildren(name: string, value: string): string {
  process.env[name] ??= value;
  return process.env[name];
}

/** The operating-system account, for the actor of CLI imports ("cli:<user>"). */
export function osUser(env: Environment = environment()): string {
  return env.USER ?? env.USERNAME ?? 'unknown';
}
