/**
 * Remote-read metrics, all from existing stats at scrape time (the hot paths are untouched):
 *  - the outbox per billing sink: backlog, lag, in flight, dead letters, delivered (ReadingPipeline.stats());
 *  - readings ingested by this process (pipeline counters), including those held in quarantine (unknown meter);
 *  - readings held in quarantine now (the database, shared by every instance);
 *  - serial buses: polls, timeouts, successes and backoff per bus and meter (BusMaster.stats());
 *  - MQTT: connection state, outbound (downlink) queue depth and session counters (MqttGateway).
 * Meter addresses are labels: they come from the gateway configuration, so they are bounded.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ReadingPipeline } from '../readings/pipeline.ts';
import type { SinkStats } from '../readings/store.ts';
import { Source, type CollectorStatus } from './collector-status.ts';
import type {
  GatewayStatsSnapshot as GatewaySnapshot,
  GatewayStatsSource,
  MeterPollStats as MeterStats,
  MqttSessionCounters,
} from './gateway-stats.ts';

/** Sweeps a suspect meter waits before its next probe (bus-master.ts: 1, 2, 4 … maxBackoffCycles). */
export function backoffSweeps(m: MeterStats, maxBackoffCycles: number): number {
  if (m.state !== 'suspect' || m.consecutiveFailures < 1) return 0;
  return Math.min(2 ** (m.consecutiveFailures - 1), maxBackoffCycles);
}

const MQTT_COUNTERS: Array<[keyof MqttSessionCounters, string, string]> = [
  ['connects', 'meterhub_mqtt_connects_total', 'MQTT (re)connections of the gateway session'],
  ['uplinks', 'meterhub_mqtt_uplinks_total', 'MQTT uplink messages received'],
  ['readings', 'meterhub_mqtt_readings_total', 'Readings decoded from MQTT uplinks'],
  ['acked', 'meterhub_mqtt_acked_total', 'Uplinks acknowledged (PUBACK) after their readings were committed'],
  [
    'ackSkipped',
    'meterhub_mqtt_ack_skipped_total',
    'Uplinks not acknowledged because the connection changed before commit (the broker redelivers)',
  ],
  [
    'commitFailures',
    'meterhub_mqtt_commit_failures_total',
    'Uplinks whose readings could not be committed (not acknowledged; redelivered)',
  ],
  ['badPayloads', 'meterhub_mqtt_bad_payloads_total', 'MQTT messages that could not be decoded'],
  [
    'refusedFrames',
    'meterhub_mqtt_refused_frames_total',
    'Read replies refused as readings: meter type or layout the profile does not define, or DI byte order',
  ],
  [
    'downlinksPublished',
    'meterhub_mqtt_downlinks_published_total',
    'Downlink commands published and acknowledged by the broker',
  ],
];

export class ReadingsMetrics {
  private pipeline?: ReadingPipeline;
  private gateway?: GatewayStatsSource;

  constructor(registry: Registry, status: CollectorStatus, cacheMs: number) {
    const outbox = status.add(
      new Source<SinkStats[]>('outbox', async () => (this.pipeline ? this.pipeline.stats() : []), cacheMs),
    );
    const gw = status.add(
      new Source<GatewaySnapshot | null>('gateway', async () => this.gatewaySnapshot(), Math.min(cacheMs, 1_000)),
    );

    const sinkGauge = (name: string, help: string, value: (s: SinkStats) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['sink'],
        registers: [registry],
        async collect() {
          const stats = await outbox.read();
          this.reset();
          for (const s of stats ?? []) this.set({ sink: s.sink }, value(s));
        },
      });
    sinkGauge(
      'meterhub_outbox_backlog',
      'Readings waiting in the outbox for a billing sink (including those being delivered)',
      (s) => s.backlog,
    );
    sinkGauge(
      'meterhub_outbox_lag_seconds',
      'Age of the oldest undelivered reading per billing sink (0 when the backlog is empty)',
      (s) => s.lagMs / 1000,
    );
    sinkGauge('meterhub_outbox_in_flight', 'Outbox rows leased by a dispatcher right now', (s) => s.inFlight);
    sinkGauge(
      'meterhub_outbox_dead_letters',
      'Readings a billing sink refused for good (replay with POST /v1/readings/dead-letters/replay)',
      (s) => s.deadLetters,
    );
    new Counter({
      name: 'meterhub_outbox_delivered_total',
      help: 'Readings delivered to a billing sink (kept in the database, shared by every instance)',
      labelNames: ['sink'],
      registers: [registry],
      async collect() {
        const stats = await outbox.read();
        this.reset();
        for (const s of stats ?? []) this.inc({ sink: s.sink }, s.deliveredTotal);
      },
    });
    const pipelineOf = () => this.pipeline;
    new Counter({
      name: 'meterhub_readings_ingested_total',
      help:
        'Readings submitted to the pipeline by this process, by result (inserted, duplicate, rejected, quarantined: ' +
        'unknown meter address, held for ops), plus held readings ops assigned to a meter (assigned)',
      labelNames: ['result'],
      registers: [registry],
      collect() {
        const p = pipelineOf();
        this.reset();
        if (!p) return;
        this.inc({ result: 'inserted' }, p.counters.inserted);
        this.inc({ result: 'duplicate' }, p.counters.duplicates);
        this.inc({ result: 'rejected' }, p.counters.rejected);
        this.inc({ result: 'quarantined' }, p.counters.quarantined);
        this.inc({ result: 'assigned' }, p.counters.assigned);
      },
    });
    const held = status.add(
      new Source<number>(
        'quarantine',
        async () => (this.pipeline ? this.pipeline.quarantine.count('held') : 0),
        cacheMs,
      ),
    );
    new Gauge({
      name: 'meterhub_readings_quarantine_held',
      help: 'Readings of unknown meter addresses waiting for ops to assign or dismiss them (GET /v1/readings/quarantine)',
      registers: [registry],
      async collect() {
        const n = await held.read();
        this.set(n ?? 0);
      },
    });

    // Serial buses.
    // Read first, then reset and fill without awaiting: two overlapping scrapes must not add up.
    const eachMeter = (
      g: GatewaySnapshot | null | undefined,
      set: (labels: { bus: string; meter: string }, m: MeterStats, maxBackoff: number) => void,
    ) => {
      for (const b of g?.buses ?? [])
        for (const m of b.meters) set({ bus: b.bus, meter: m.address }, m, b.maxBackoffCycles);
    };
    const meterCounter = (name: string, help: string, value: (m: MeterStats) => number) =>
      new Counter({
        name,
        help,
        labelNames: ['bus', 'meter'],
        registers: [registry],
        async collect() {
          const g = await gw.read();
          this.reset();
          eachMeter(g, (labels, m) => this.inc(labels, value(m)));
        },
      });
    const meterGauge = (name: string, help: string, value: (m: MeterStats, maxBackoff: number) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['bus', 'meter'],
        registers: [registry],
        async collect() {
          const g = await gw.read();
          this.reset();
          eachMeter(g, (labels, m, max) => this.set(labels, value(m, max)));
        },
      });
    meterCounter(
      'meterhub_serial_polls_total',
      'Polls of a meter on a serial bus (one poll may take several attempts)',
      (m) => m.polls,
    );
    meterCounter(
      'meterhub_serial_attempts_total',
      'Request frames sent to a meter (first tries and retries)',
      (m) => m.attempts,
    );
    meterCounter('meterhub_serial_timeouts_total', 'Attempts that got no valid reply in time', (m) => m.timeouts);
    meterCounter('meterhub_serial_successes_total', 'Polls that produced a validated reading', (m) => m.successes);
    meterCounter(
      'meterhub_serial_bad_frames_total',
      'Replies that failed validation (checksum, address, DI, SER)',
      (m) => m.badFrames,
    );
    meterGauge(
      'meterhub_serial_meter_suspect',
      'Whether the meter is in backoff after a fully timed-out poll (1) or healthy/unknown (0)',
      (m) => (m.state === 'suspect' ? 1 : 0),
    );
    meterGauge(
      'meterhub_serial_meter_backoff_sweeps',
      'Sweeps a suspect meter is skipped before its next single-attempt probe (0 = polled every sweep)',
      (m, max) => backoffSweeps(m, max),
    );
    meterGauge(
      'meterhub_serial_meter_consecutive_failures',
      'Failed polls in a row for the meter',
      (m) => m.consecutiveFailures,
    );

    // MQTT.
    const mqttGauge = (name: string, help: string, value: (m: NonNullable<GatewaySnapshot['mqtt']>) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['gateway'],
        registers: [registry],
        async collect() {
          const g = await gw.read();
          this.reset();
          if (g?.mqtt) this.set({ gateway: g.gatewayId }, value(g.mqtt));
        },
      });
    mqttGauge(
      'meterhub_mqtt_connected',
      'Whether the gateway MQTT session is connected to the broker (1) or not (0)',
      (m) => (m.connected ? 1 : 0),
    );
    mqttGauge(
      'meterhub_mqtt_outbound_backlog',
      'Downlink commands waiting in the durable outbound queue to be published',
      (m) => m.outboundBacklog,
    );
    for (const [key, name, help] of MQTT_COUNTERS) {
      new Counter({
        name,
        help,
        labelNames: ['gateway'],
        registers: [registry],
        async collect() {
          const g = await gw.read();
          this.reset();
          if (g?.mqtt) this.inc({ gateway: g.gatewayId }, g.mqtt.counters[key]);
        },
      });
    }
  }

  setPipeline(pipeline: ReadingPipeline): void {
    this.pipeline = pipeline;
  }

  setGateway(gateway: GatewayStatsSource): void {
    this.gateway = gateway;
  }

  private async gatewaySnapshot(): Promise<GatewaySnapshot | null> {
    return this.gateway ? this.gateway.metricsSnapshot() : null;
  }
}
