/**
 * MeterHub's Prometheus metrics (prom-client, own Registry — never the global one, so tests and several
 * servers in one process do not share series). `meterhub serve` creates one, hands its driver factory to
 * the plugin host, attaches the database, reading pipeline and gateway, and serves it at GET /metrics.
 *
 * Everything is collected from what already exists: fastify hooks (HTTP, card operations), supervisor
 * events (driver calls, crashes, restarts), and at scrape time the plugin host's list(), a grouped COUNT on
 * the ledger, the outbox stats and the gateway's bus/MQTT stats. docs/deploy/metrics.md lists every metric.
 */
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import { pingDatabase, type MeterHubDatabase } from '../db/database.ts';
import type { DriverFactory } from '../plugins/plugin-host.ts';
import type { PluginHost } from '../plugins/plugin-types.ts';
import type { ReadingPipeline } from '../readings/pipeline.ts';
import { ApiMetrics } from './api-metrics.ts';
import { CollectorStatus, Source } from './collector-status.ts';
import { DriverMetrics } from './driver-metrics.ts';
import type { GatewayStatsSource } from './gateway-stats.ts';
import { LedgerMetrics } from './ledger-metrics.ts';
import { ReadingsMetrics } from './readings-metrics.ts';

export interface MetricsOptions {
  /** Node process metrics (CPU, memory, event loop lag, GC) with the meterhub_ prefix (default true). */
  defaultMetrics?: boolean;
  /** How long scrape-time database answers are reused (ms, default 5000). */
  cacheMs?: number;
  /** Constant labels on every series, e.g. { instance_name: 'central-1' } when N instances share a DB. */
  labels?: Record<string, string>;
  /** Shown in meterhub_build_info. */
  version?: string;
}

export interface MetricsSources {
  pluginHost?: PluginHost;
  database?: MeterHubDatabase;
  readings?: ReadingPipeline;
  gateway?: GatewayStatsSource;
}

export class MeterHubMetrics {
  readonly registry = new Registry();
  readonly api: ApiMetrics;
  readonly drivers: DriverMetrics;
  readonly ledger: LedgerMetrics;
  readonly readings: ReadingsMetrics;
  private database?: MeterHubDatabase;
  private readonly status: CollectorStatus;

  constructor(o: MetricsOptions = {}) {
    const cacheMs = o.cacheMs ?? 5_000;
    if (o.labels) this.registry.setDefaultLabels(o.labels);
    if (o.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'meterhub_' });
    const status = new CollectorStatus(this.registry);
    this.status = status;
    this.api = new ApiMetrics(this.registry);
    this.drivers = new DriverMetrics(this.registry, status);
    this.ledger = new LedgerMetrics(this.registry, status, cacheMs);
    this.readings = new ReadingsMetrics(this.registry, status, cacheMs);
    const db = status.add(
      new Source<boolean>('database', async () => (this.database ? pingDatabase(this.database) : false), 1_000),
    );
    new Gauge({
      name: 'meterhub_database_up',
      help: 'Whether the database answered `select 1` on this scrape',
      registers: [this.registry],
      async collect() {
        const ok = await db.read();
        this.set(ok ? 1 : 0);
      },
    });
    new Gauge({
      name: 'meterhub_build_info',
      help: 'Always 1; labels say which MeterHub and Node run here',
      labelNames: ['version', 'node'],
      registers: [this.registry],
    }).set({ version: o.version ?? 'unknown', node: process.versions.node }, 1);
  }

  /** The plugin-host driver factory that feeds the driver metrics. */
  driverFactory(base?: DriverFactory): DriverFactory {
    return this.drivers.factory(base);
  }

  attach(s: MetricsSources): void {
    if (s.pluginHost) this.drivers.setPluginHost(s.pluginHost);
    if (s.database) {
      this.database = s.database;
      this.ledger.setDatabase(s.database);
    }
    if (s.readings) this.readings.setPipeline(s.readings);
    if (s.gateway) this.readings.setGateway(s.gateway);
  }

  /** Adds the HTTP / card-operation hooks to an app (call before its routes are registered). */
  instrument(app: FastifyInstance, pluginHost: PluginHost): void {
    this.api.install(app, (id) => pluginHost.get(id) !== undefined);
  }

  /** The next scrape reads every scrape-time source afresh instead of the cached answers. */
  invalidate(): void {
    this.status.invalidateAll();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}

export function createMetrics(o: MetricsOptions = {}): MeterHubMetrics {
  return new MeterHubMetrics(o);
}
