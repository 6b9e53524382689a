/**
 * Readiness (GET /v1/ready): may a load balancer send card work to this instance now?
 *
 * - database: `select 1` answers within the timeout;
 * - every REQUIRED driver is up. Required plugins are configured (METERHUB_REQUIRED_PLUGINS, `requiredPlugins`);
 *   by default every enabled plugin whose library exists — and a plugin whose library was seen once stays
 *   required while enabled, so a library that disappears from a running server fails readiness instead of
 *   silently dropping out of the set.
 *
 * A required driver that has not started yet is started by the probe (drivers otherwise start on the first
 * card call), so an instance reports ready only once its drivers have loaded their libraries. A driver in
 * "restarting" is counted as up: its calls queue and are served after the respawn backoff (at most 5 s).
 */
import { pingDatabase, type MeterHubDatabase } from '../db/database.ts';
import type { HostedCardDriver } from '../driver/driver-client.ts';
import type { PluginHost, PluginState } from '../plugins/plugin-types.ts';
import { withTimeout } from '../metrics/snapshot.ts';

export interface ReadinessOptions {
  database: MeterHubDatabase;
  pluginHost: PluginHost;
  /** Plugin ids that must be up; undefined = every enabled plugin whose library exists; [] = none. */
  requiredPlugins?: string[] | undefined;
  dbTimeoutMs?: number;
}

export interface DriverCheck {
  plugin: string;
  ok: boolean;
  state: string;
  /** Why the plugin is not up: not-installed, disabled, library-missing, starting, failed, stopped. */
  reason?: string;
  lastError?: { code: string; message: string };
}

export interface ReadinessReport {
  ready: boolean;
  checks: {
    database: { ok: boolean; dialect: string; latencyMs: number; error?: string };
    drivers: { ok: boolean; requiredBy: 'config' | 'default'; required: string[]; plugins: DriverCheck[] };
  };
}

/** "kingcard,chint" -> ids; "none" or "" -> []; unset -> undefined (the default rule). */
export function parseRequiredPlugins(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (t === '' || t.toLowerCase() === 'none') return [];
  return [
    ...new Set(
      t
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
}

export class ReadinessChecker {
  /** Plugins whose library has been seen while enabled (the sticky default set). */
  private readonly seen = new Set<string>();

  constructor(private readonly o: ReadinessOptions) {}

  async check(): Promise<ReadinessReport> {
    const [database, drivers] = await Promise.all([this.checkDatabase(), Promise.resolve(this.checkDrivers())]);
    return { ready: database.ok && drivers.ok, checks: { database, drivers } };
  }

  private async checkDatabase(): Promise<ReadinessReport['checks']['database']> {
    const started = performance.now();
    let ok = false;
    let error: string | undefined;
    try {
      ok = await withTimeout(pingDatabase(this.o.database), this.o.dbTimeoutMs ?? 2_000);
      if (!ok) error = 'query failed';
    } catch (e) {
      error = (e as Error).message;
    }
    return {
      ok,
      dialect: this.o.database.dialect,
      latencyMs: Math.round(performance.now() - started),
      ...(error ? { error } : {}),
    };
  }

  private checkDrivers(): ReadinessReport['checks']['drivers'] {
    const list = this.o.pluginHost.list();
    const byId = new Map(list.map((p) => [p.id, p]));
    for (const p of list) {
      if (!p.enabled) this.seen.delete(p.id);
      else if (p.libraryFound) this.seen.add(p.id);
    }
    const configured = this.o.requiredPlugins;
    const required = configured ?? list.filter((p) => p.enabled && this.seen.has(p.id)).map((p) => p.id);
    const plugins = required.map((id) => this.checkDriver(id, byId.get(id)));
    return { ok: plugins.every((p) => p.ok), requiredBy: configured ? 'config' : 'default', required, plugins };
  }

  private checkDriver(id: string, p: PluginState | undefined): DriverCheck {
    if (!p) return { plugin: id, ok: false, state: 'absent', reason: 'not-installed' };
    if (!p.enabled) return { plugin: id, ok: false, state: 'disabled', reason: 'disabled' };
    if (!p.libraryFound)
      return { plugin: id, ok: false, state: p.driver?.state ?? 'not-started', reason: 'library-missing' };
    if (!p.driver) {
      // Start it now; the next probe sees it ready (or why it is not).
      try {
        this.o.pluginHost.driver(id);
      } catch (e) {
        return { plugin: id, ok: false, state: 'not-started', reason: 'failed', lastError: errorOf(e) };
      }
      return { plugin: id, ok: false, state: 'starting', reason: 'starting' };
    }
    const d = p.driver;
    const lastError = d.lastError ? { code: d.lastError.code, message: d.lastError.message } : undefined;
    switch (d.state) {
      case 'ready':
      case 'restarting':
        return { plugin: id, ok: true, state: d.state, ...(lastError ? { lastError } : {}) };
      case 'failed':
        // Let the supervisor try again once its backoff has passed, so a repaired library is noticed.
        this.poke(id);
        return { plugin: id, ok: false, state: d.state, reason: 'failed', ...(lastError ? { lastError } : {}) };
      default:
        return { plugin: id, ok: false, state: d.state, reason: d.state, ...(lastError ? { lastError } : {}) };
    }
  }

  private poke(id: string): void {
    try {
      (this.o.pluginHost.driver(id) as Partial<HostedCardDriver>).supervisor?.start();
    } catch {
      /* reported through state */
    }
  }
}

function errorOf(e: unknown): { code: string; message: string } {
  const x = e as { code?: unknown; en?: unknown; message?: unknown };
  return { code: typeof x.code === 'string' ? x.code : 'ERROR', message: String(x.en ?? x.message ?? e).slice(0, 300) };
}
