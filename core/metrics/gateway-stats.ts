/**
 * What the metrics read from a remote-read gateway running in this process. The gateway implements it
 * (gateways/gateway.ts); the metrics depend on this shape only, so the kernel never imports a transport class.
 * Fields are the ones the metrics publish; the gateway's own stats types carry more and still fit.
 */

/** One meter on a serial bus (gateways/serial/bus-master.ts MeterStats). */
export interface MeterPollStats {
  address: string;
  state: 'ok' | 'suspect' | 'unknown';
  polls: number;
  attempts: number;
  timeouts: number;
  successes: number;
  badFrames: number;
  consecutiveFailures: number;
}

/** The MQTT session's counters (gateways/mqtt/mqtt-gateway.ts MqttGatewayCounters). */
export interface MqttSessionCounters {
  connects: number;
  uplinks: number;
  readings: number;
  acked: number;
  ackSkipped: number;
  commitFailures: number;
  badPayloads: number;
  refusedFrames: number;
  downlinksPublished: number;
}

export interface GatewayStatsSnapshot {
  gatewayId: string;
  buses: Array<{ bus: string; maxBackoffCycles: number; meters: MeterPollStats[] }>;
  mqtt: { connected: boolean; counters: MqttSessionCounters; outboundBacklog: number } | null;
}

/** A gateway the metrics can scrape. */
export interface GatewayStatsSource {
  metricsSnapshot(): Promise<GatewayStatsSnapshot>;
}
