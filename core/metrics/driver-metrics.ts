/**
 * Driver-host metrics per plugin. Calls, latency, crashes and restarts come from the supervisor's events
 * (`call`, `failure`, `spawn`), counted here so they stay monotonic when ops disable and re-enable a plugin
 * (which replaces the supervisor and its own counters); state, queue depth and backoff come from the plugin
 * host's `list()` at scrape time. Label values: plugin ids and interface function names — both bounded.
 */
import type { EventEmitter } from 'node:events';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { CardDriver } from '../driver/card-driver.ts';
import { createCardDriver, type HostedCardDriver } from '../driver/driver-client.ts';
import { DriverCrashed, DriverProtocol, DriverTimeout } from '../driver/driver-errors.ts';
import type { DriverFactory } from '../plugins/plugin-host.ts';
import type { PluginHost, PluginState } from '../plugins/plugin-types.ts';
import { Source, type CollectorStatus } from './collector-status.ts';

/** Driver states as health() reports them, plus "not_started" (no host yet: drivers start on first use). */
export const DRIVER_STATES = ['not_started', 'starting', 'ready', 'restarting', 'stopped', 'failed'] as const;

/** Seconds; a memory-card computation is ~1 ms plus IPC, a hung library is cut at its timeout (5 s default). */
export const DRIVER_CALL_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * How a lost host is named in `meterhub_driver_crashes_total{reason}`. The supervisor's `failure` event carries
 * the error's code only (not the MeterHubError), so `X.is(error)` does not apply; the codes are read from the error
 * definitions so a renamed code cannot silently turn every crash into `other`.
 */
export function crashReason(code: string): string {
  switch (code) {
    case DriverCrashed.spec.code:
      return 'crash';
    case DriverTimeout.spec.code:
      return 'timeout';
    case DriverProtocol.spec.code:
      return 'protocol';
    default:
      return 'other';
  }
}

/** Function names reach a label only if they look like interface functions (never caller-made strings). */
const FUNCTION_RE = /^[A-Za-z$][A-Za-z0-9_]{0,40}$/;

export class DriverMetrics {
  private readonly calls: Counter<'plugin' | 'function' | 'result'>;
  private readonly duration: Histogram<'plugin' | 'function'>;
  private readonly crashes: Counter<'plugin' | 'reason'>;
  private readonly restarts: Counter<'plugin'>;
  private readonly watched = new WeakSet<EventEmitter>();
  private pluginHost?: PluginHost;

  constructor(registry: Registry, status: CollectorStatus) {
    this.calls = new Counter({
      name: 'meterhub_driver_calls_total',
      help: 'Calls sent to a maker library driver host, by plugin, interface function and result ("ok" or the error code, e.g. DRIVER_TIMEOUT)',
      labelNames: ['plugin', 'function', 'result'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'meterhub_driver_call_duration_seconds',
      help: 'Time from sending a call to the driver host until its answer (or crash/timeout), by plugin and function',
      labelNames: ['plugin', 'function'],
      buckets: DRIVER_CALL_BUCKETS,
      registers: [registry],
    });
    this.crashes = new Counter({
      name: 'meterhub_driver_crashes_total',
      help: 'Serving driver hosts lost, by plugin and reason (crash = the process died, timeout = hung and killed, protocol = garbage on the pipe)',
      labelNames: ['plugin', 'reason'],
      registers: [registry],
    });
    this.restarts = new Counter({
      name: 'meterhub_driver_restarts_total',
      help: 'Driver host processes spawned again after the first one (respawns after crashes, hangs or failed starts)',
      labelNames: ['plugin'],
      registers: [registry],
    });

    // list() is cheap (no I/O beyond a stat per plugin): not cached across scrapes, only shared within one.
    const plugins = status.add(new Source<PluginState[]>('plugins', async () => this.pluginHost?.list() ?? [], 0));
    const gauge = (
      name: string,
      help: string,
      labelNames: string[],
      fill: (g: Gauge<string>, list: PluginState[]) => void,
    ) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers: [registry],
        async collect() {
          const list = await plugins.read();
          this.reset();
          if (list) fill(this, list);
        },
      });
    gauge(
      'meterhub_plugin_enabled',
      'Whether the maker plugin is enabled (1) or disabled (0)',
      ['plugin'],
      (g, list) => {
        for (const p of list) g.set({ plugin: p.id }, p.enabled ? 1 : 0);
      },
    );
    gauge(
      'meterhub_plugin_library_found',
      'Whether the plugin library for this platform exists on disk',
      ['plugin'],
      (g, list) => {
        for (const p of list) g.set({ plugin: p.id }, p.libraryFound ? 1 : 0);
      },
    );
    gauge(
      'meterhub_plugin_stand_in',
      'Whether the plugin uses a stand-in library (替身库), never for real meters',
      ['plugin'],
      (g, list) => {
        for (const p of list) g.set({ plugin: p.id }, p.standIn ? 1 : 0);
      },
    );
    gauge(
      'meterhub_driver_state',
      'Driver host state per enabled plugin (1 for the current state)',
      ['plugin', 'state'],
      (g, list) => {
        for (const p of list) {
          if (!p.enabled) continue;
          const current = p.driver?.state ?? 'not_started';
          for (const s of DRIVER_STATES) g.set({ plugin: p.id, state: s }, s === current ? 1 : 0);
        }
      },
    );
    gauge(
      'meterhub_driver_queued_calls',
      'Calls waiting for or in flight at the driver host (calls to one library are serialised)',
      ['plugin'],
      (g, list) => {
        for (const p of list) if (p.driver) g.set({ plugin: p.id }, p.driver.queued ?? 0);
      },
    );
    gauge('meterhub_driver_backoff_seconds', 'Delay used for the latest driver host respawn', ['plugin'], (g, list) => {
      for (const p of list) if (p.driver) g.set({ plugin: p.id }, (p.driver.backoffMs ?? 0) / 1000);
    });
  }

  setPluginHost(host: PluginHost): void {
    this.pluginHost = host;
  }

  /** Counts one supervisor's events under a plugin id. */
  watch(plugin: string, supervisor: EventEmitter): void {
    if (this.watched.has(supervisor)) return;
    this.watched.add(supervisor);
    let spawns = 0;
    // Pre-create the series so a dashboard shows 0 rather than "no data" before the first crash.
    this.crashes.inc({ plugin, reason: 'crash' }, 0);
    this.restarts.inc({ plugin }, 0);
    supervisor.on('call', (e: { method: string; durationMs: number; errorCode?: string }) => {
      const fn = FUNCTION_RE.test(e.method) ? e.method : 'other';
      this.calls.inc({ plugin, function: fn, result: e.errorCode ?? 'ok' });
      this.duration.observe({ plugin, function: fn }, e.durationMs / 1000);
    });
    supervisor.on('failure', (e: { code: string }) => this.crashes.inc({ plugin, reason: crashReason(e.code) }));
    supervisor.on('spawn', () => {
      spawns++;
      if (spawns > 1) this.restarts.inc({ plugin });
    });
  }

  /** A plugin-host driver factory that creates the usual driver host and watches its supervisor. */
  factory(base: DriverFactory = (o) => createCardDriver(o)): DriverFactory {
    return (o) => {
      const d: CardDriver = base(o);
      const sup = (d as Partial<HostedCardDriver>).supervisor;
      if (sup) this.watch(o.name, sup);
      return d;
    };
  }
}
