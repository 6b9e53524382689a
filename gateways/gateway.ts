/**
 * Gateway factory: one process that owns its serial ports, collectors and MQTT session, and feeds the
 * one reading pipeline (store + outbox + billing sinks). `meterhub gateway --config <file>` runs it.
 */
import { openDatabase, type MeterHubDatabase } from '../core/db/database.ts';
import { migrateAll } from '../core/schema/all-migrations.ts';
import { GatewayConfigInvalid } from '../core/readings/errors.ts';
import type { MeterDirectory } from '../core/readings/meter-directory.ts';
import { RegistryDirectory } from '../core/meters/directory.ts';
import { createReadingPipeline, type ReadingPipeline } from '../core/readings/pipeline.ts';
import type { BillingSink } from '../core/readings/sink-types.ts';
import { MqttSink } from '../core/readings/sinks/mqtt-sink.ts';
import { MAX_READINGS_PER_POST, WebhookSink } from '../core/readings/sinks/webhook-sink.ts';
import type { RetryPolicy, SinkStats } from '../core/readings/store.ts';
import { isValidAddress, type DialectProfile, type ProfileRegistry } from '../core/telemetry/index.ts';
import type { GatewayStatsSnapshot, GatewayStatsSource } from '../core/metrics/gateway-stats.ts';
import { MeterStore } from '../core/meters/store.ts';
import { CollectorClient } from './collector/collector-client.ts';
import { CommandLog } from './command-log.ts';
import { MqttGateway } from './mqtt/mqtt-gateway.ts';
import { BusArbiter } from './serial/bus-arbiter.ts';
import { BusMaster, type MeterStats } from './serial/bus-master.ts';
import { SerialLink } from './serial/serial-link.ts';

export interface GatewayConfig {
  gatewayId: string;
  /** SQLite path or postgres:// URL; default DATABASE_URL or ./data/meterhub.db. */
  database?: string;
  /** Dialect profile name (e.g. "chint", "cjt188-company"). */
  profile: string;
  sinks?: {
    /** readingsPerPost > 1: batched POSTs (docs/protocol/billing.md); the billing system must accept them. */
    webhook?: {
      url: string;
      headers?: Record<string, string>;
      concurrency?: number;
      timeoutMs?: number;
      readingsPerPost?: number;
      parallelLeases?: number;
    };
    mqtt?: { url: string; topicPrefix?: string; clientId?: string };
    /** REST cursor feed (default true). */
    rest?: boolean;
  };
  dispatcher?: { pollMs?: number; leaseMs?: number; retry?: Partial<RetryPolicy> };
  /** shareGroup: instances with the same group split uplinks (MQTT 5 `$share`, docs/deploy/mqtt-broker.md). */
  mqtt?: { url: string; topicPrefix?: string; commandTimeoutMs?: number; shareGroup?: string };
  /**
   * Take the buses' meters and collectors from the meter registry (core/meters, `meterhub import meters`) instead
   * of `serial[].meters` / `serial[].collectors`, which must then be absent: each bus polls the registry's active
   * `serial` meters whose busPath is that bus's path (by busPosition), and reads the active `collector` meters
   * through their collectors on that bus (by address). Loaded at start and again every `reloadMs` (default 5 min)
   * or on `Gateway.reload()`, so imported meters join and retired or suspended ones leave without a restart.
   */
  registry?: { reloadMs?: number; collectorIntervalMs?: number };
  serial?: Array<{
    path: string;
    baudRate?: number;
    parity?: 'none' | 'even' | 'odd';
    intervalMs?: number;
    retries?: number;
    stagger?: boolean;
    meters?: string[];
    collectors?: Array<{ address: string; mode?: 'bulk' | 'addresses'; meters?: string[]; intervalMs?: number }>;
  }>;
}

/** Where a gateway looks its config's profile name up: the program's registry (core/telemetry/profile-registry.ts). */
export type ProfileLookup = Pick<ProfileRegistry, 'get'>;

/**
 * Checks a config's shape; with `profiles`, also that its profile name is known there. `meterhub serve` checks the
 * shape before its plugin host has pushed the plugins' dialects, so the name is resolved later, by the gateway.
 */
export function validateGatewayConfig(raw: unknown, profiles?: ProfileLookup): GatewayConfig {
  const bad = (why: string): never => {
    throw GatewayConfigInvalid({ reason: why }, { zh: why, en: why });
  };
  if (!raw || typeof raw !== 'object') bad('config must be an object');
  const c = raw as GatewayConfig;
  if (typeof c.gatewayId !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(c.gatewayId))
    bad('gatewayId: 1–64 of [A-Za-z0-9_-]');
  if (typeof c.profile !== 'string') bad('profile is required');
  profiles?.get(c.profile);
  if (c.mqtt && typeof c.mqtt.url !== 'string') bad('mqtt.url is required');
  if (c.mqtt?.shareGroup !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(String(c.mqtt.shareGroup)))
    bad('mqtt.shareGroup: 1–64 of [A-Za-z0-9_-]');
  if (c.sinks?.webhook && !/^https?:\/\//.test(c.sinks.webhook.url ?? '')) bad('sinks.webhook.url must be http(s)');
  const per = c.sinks?.webhook?.readingsPerPost;
  if (per !== undefined && !(Number.isInteger(per) && per >= 1 && per <= MAX_READINGS_PER_POST)) {
    bad(`sinks.webhook.readingsPerPost must be an integer 1..${MAX_READINGS_PER_POST}`);
  }
  if (c.registry !== undefined) {
    const r = c.registry as Record<string, unknown> | null;
    if (!r || typeof r !== 'object' || Array.isArray(r)) bad('registry must be an object');
    const extra = Object.keys(r!).filter((k) => k !== 'reloadMs' && k !== 'collectorIntervalMs');
    if (extra.length) bad(`registry: unknown keys ${extra.join(', ')} (reloadMs, collectorIntervalMs)`);
    for (const k of ['reloadMs', 'collectorIntervalMs'] as const) {
      const v = r![k];
      if (v !== undefined && !(Number.isInteger(v) && (v as number) >= 1000)) bad(`registry.${k}: an integer ≥ 1000`);
    }
    if ((c.serial ?? []).some((s) => s.meters?.length || s.collectors?.length)) {
      bad('registry: the meters come from the registry; remove serial[].meters and serial[].collectors');
    }
  }
  for (const s of c.serial ?? []) {
    if (typeof s.path !== 'string' || !s.path) bad('serial[].path is required');
    for (const m of [...(s.meters ?? []), ...(s.collectors ?? []).flatMap((x) => [x.address, ...(x.meters ?? [])])]) {
      if (!isValidAddress(m)) bad(`bad meter/collector address ${String(m).slice(0, 20)}`);
    }
  }
  return c;
}

export interface RunningBus {
  link: SerialLink;
  master: BusMaster;
  collectors: CollectorClient[];
}

/** A collector the gateway reads on a timer; its meter list may change on a registry reload. */
interface RunningCollector {
  client: CollectorClient;
  mode: 'bulk' | 'addresses';
  meters: string[];
  timer: NodeJS.Timeout;
}

/** What a registry load gave each bus (Gateway.reload()). */
export interface RegistryLoad {
  buses: Array<{ bus: string; meters: string[]; collectors: Record<string, string[]> }>;
}

export class Gateway implements GatewayStatsSource {
  readonly database: MeterHubDatabase;
  readonly pipeline: ReadingPipeline;
  mqtt: MqttGateway | null = null;
  readonly buses: RunningBus[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  /** Per bus (same index as `buses`): its collectors by address. */
  private readonly collectorRuns: Array<Map<string, RunningCollector>> = [];
  private reloading: Promise<RegistryLoad> | null = null;
  /** Set by stop(): a reload after it would start collector timers on closed links. */
  private stopping = false;
  readonly errors: unknown[] = [];
  /** Which meters are known (given, or the registry's when the config reads it); absent: every meter is. */
  readonly directory: MeterDirectory | undefined;
  /** The config's dialect, resolved once in the program's registry; every transport decodes with this object. */
  readonly profile: DialectProfile;

  constructor(
    readonly config: GatewayConfig,
    profiles: ProfileLookup,
    database?: MeterHubDatabase,
    /** Which meters are known; readings of others are held in quarantine (core/readings/quarantine.ts). */
    directory?: MeterDirectory,
  ) {
    this.profile = profiles.get(config.profile);
    this.database = database ?? openDatabase({ url: config.database });
    const sinks: BillingSink[] = [];
    if (config.sinks?.webhook) sinks.push(new WebhookSink({ ...config.sinks.webhook }));
    if (config.sinks?.mqtt) {
      sinks.push(
        new MqttSink({
          url: config.sinks.mqtt.url,
          topicPrefix: config.sinks.mqtt.topicPrefix,
          clientId: config.sinks.mqtt.clientId ?? `meterhub-billing-${config.gatewayId}`,
        }),
      );
    }
    // A gateway that reads the registry also quarantines readings of meters the registry does not hold.
    this.directory = directory ?? (config.registry ? new RegistryDirectory(this.database) : undefined);
    this.pipeline = createReadingPipeline({
      database: this.database,
      sinks,
      restFeed: config.sinks?.rest !== false,
      dispatcher: { ...config.dispatcher, onError: (e) => this.onError(e) },
      onError: (e) => this.onError(e),
      ...(this.directory ? { directory: this.directory } : {}),
    });
  }

  private onError(e: unknown): void {
    if (this.errors.length < 100) this.errors.push(e);
  }

  async start(): Promise<void> {
    await migrateAll(this.database);
    await this.pipeline.start();
    const c = this.config;
    if (c.mqtt) {
      this.mqtt = new MqttGateway({
        url: c.mqtt.url,
        gatewayId: c.gatewayId,
        database: this.database,
        pipeline: this.pipeline,
        profile: this.profile,
        topicPrefix: c.mqtt.topicPrefix,
        commandTimeoutMs: c.mqtt.commandTimeoutMs,
        onError: (e) => this.onError(e),
        ...(c.mqtt.shareGroup ? { shareGroup: c.mqtt.shareGroup } : {}),
      });
      await this.mqtt.start();
    }
    for (const s of c.serial ?? []) {
      const link = new SerialLink({
        path: s.path,
        baudRate: s.baudRate ?? 2400,
        parity: s.parity ?? 'even',
        profile: this.profile,
      });
      await link.open();
      const arbiter = new BusArbiter();
      const fromRegistry = c.registry ? await this.registryBus(s.path) : null;
      const master = new BusMaster({
        link,
        arbiter,
        meters: (fromRegistry?.meters ?? s.meters ?? []).map((address) => ({ address })),
        pipeline: this.pipeline,
        commands: new CommandLog(this.database.db),
        retries: s.retries,
        intervalMs: s.intervalMs,
        stagger: s.stagger,
        onError: (e) => this.onError(e),
      });
      const bus: RunningBus = { link, master, collectors: [] };
      const runs = new Map<string, RunningCollector>();
      this.buses.push(bus);
      this.collectorRuns.push(runs);
      if (fromRegistry) {
        for (const [address, meters] of fromRegistry.collectors)
          this.startCollector(bus, runs, arbiter, address, 'addresses', meters);
      } else {
        for (const cc of s.collectors ?? []) {
          this.startCollector(bus, runs, arbiter, cc.address, cc.mode ?? 'bulk', cc.meters ?? [], cc.intervalMs);
        }
      }
      // From the registry, the bus runs even while empty: a reload may give it meters.
      if (fromRegistry || master.stats().length) master.start();
    }
    if (c.registry) {
      const t = setInterval(() => void this.reload().catch((e) => this.onError(e)), c.registry.reloadMs ?? 300_000);
      t.unref?.();
      this.timers.push(t);
    }
  }

  private async registryBus(path: string): Promise<{ meters: string[]; collectors: Map<string, string[]> }> {
    const store = new MeterStore(this.database);
    return { meters: await store.serialMeters(path), collectors: await store.collectorMeters(path) };
  }

  private startCollector(
    bus: RunningBus,
    runs: Map<string, RunningCollector>,
    arbiter: BusArbiter,
    address: string,
    mode: 'bulk' | 'addresses',
    meters: string[],
    intervalMs?: number,
  ): void {
    const client = new CollectorClient({
      link: bus.link,
      arbiter,
      database: this.database,
      pipeline: this.pipeline,
      address,
    });
    const every = intervalMs ?? this.config.registry?.collectorIntervalMs ?? 15 * 60_000;
    const run = () => {
      // Read at call time: a registry reload may have changed the list since the timer was set.
      const r = runs.get(address);
      const list = r?.meters ?? meters;
      return (mode === 'addresses' ? client.readByAddresses(list) : client.uploadAll()).catch((e) => this.onError(e));
    };
    const entry: RunningCollector = { client, mode, meters, timer: setInterval(run, every) };
    runs.set(address, entry);
    bus.collectors.push(client);
    void run();
  }

  /**
   * Loads the registry again (with `registry` in the config; otherwise a no-op): each bus's serial meters are
   * replaced from the next sweep on (BusMaster.setMeters), collectors are added, given their new meter lists, or
   * stopped. Concurrent calls share one load. Returns what each bus now has.
   */
  reload(): Promise<RegistryLoad> {
    if (!this.config.registry || this.stopping) return Promise.resolve({ buses: [] });
    this.reloading ??= this.loadRegistry().finally(() => {
      this.reloading = null;
    });
    return this.reloading;
  }

  private async loadRegistry(): Promise<RegistryLoad> {
    const out: RegistryLoad = { buses: [] };
    for (let i = 0; i < this.buses.length; i++) {
      const bus = this.buses[i]!;
      const runs = this.collectorRuns[i]!;
      const next = await this.registryBus(bus.link.opts.path);
      bus.master.setMeters(next.meters.map((address) => ({ address })));
      for (const [address, run] of runs) {
        if (next.collectors.has(address)) continue;
        clearInterval(run.timer);
        runs.delete(address);
        bus.collectors.splice(bus.collectors.indexOf(run.client), 1);
      }
      for (const [address, meters] of next.collectors) {
        const run = runs.get(address);
        if (run) run.meters = meters;
        else this.startCollector(bus, runs, bus.master.arbiter, address, 'addresses', meters);
      }
      out.buses.push({ bus: bus.link.opts.path, meters: next.meters, collectors: Object.fromEntries(next.collectors) });
    }
    // Meters registered since the last load stop being quarantined now, not when the directory's cache ages out.
    this.directory?.refresh?.();
    return out;
  }

  async stats(): Promise<{
    sinks: SinkStats[];
    meters: MeterStats[];
    mqtt: MqttGateway['counters'] | null;
    outboundBacklog: number;
  }> {
    return {
      sinks: await this.pipeline.stats(),
      meters: this.buses.flatMap((b) => b.master.stats()),
      mqtt: this.mqtt ? { ...this.mqtt.counters } : null,
      outboundBacklog: this.mqtt ? await this.mqtt.outbound.backlog() : 0,
    };
  }

  /** What GET /metrics publishes about this gateway (core/metrics/readings-metrics.ts). */
  async metricsSnapshot(): Promise<GatewayStatsSnapshot> {
    const mqtt = this.mqtt;
    const buses = this.buses.map((b) => ({
      bus: b.link.opts.path,
      maxBackoffCycles: b.master.maxBackoffCycles,
      meters: b.master.stats(),
    }));
    if (!mqtt) return { gatewayId: this.config.gatewayId, buses, mqtt: null };
    const session = {
      connected: mqtt.client?.connected === true,
      counters: { ...mqtt.counters },
      outboundBacklog: await mqtt.outbound.backlog(),
    };
    return { gatewayId: this.config.gatewayId, buses, mqtt: session };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    // A load under way may still start collectors: let it finish, then every timer is known.
    await this.reloading?.catch(() => {});
    for (const t of this.timers) clearInterval(t);
    for (const runs of this.collectorRuns) for (const r of runs.values()) clearInterval(r.timer);
    for (const b of this.buses) {
      await b.master.stop();
      await b.link.close();
    }
    await this.mqtt?.stop();
    await this.pipeline.close();
    await this.database.close();
  }
}

/** `profiles` is the program's registry (plugin host pushed into it); there is no process-wide one to fall back on. */
export function createGateway(
  config: GatewayConfig,
  deps: { profiles: ProfileLookup; database?: MeterHubDatabase; directory?: MeterDirectory },
): Gateway {
  return new Gateway(validateGatewayConfig(config, deps.profiles), deps.profiles, deps.database, deps.directory);
}
