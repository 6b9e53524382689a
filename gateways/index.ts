/** Public API of the remote-read gateways (serial bus master, collector, MQTT) and their simulators. */
export { createGateway, Gateway, validateGatewayConfig, type GatewayConfig } from './gateway.ts';
export { BusMaster, type BusMasterOptions, type BusMeterConfig, type MeterStats, type SweepResult, type ValveResult } from './serial/bus-master.ts';
export { BusArbiter, type BusPriority } from './serial/bus-arbiter.ts';
export { SerialLink, type SerialLinkOptions } from './serial/serial-link.ts';
export { replyTimeoutMs, exchangeBoundMs, charTimeMs, wireTimeMs, staleFlushMs, type LineSettings, type TimingOptions } from './serial/timing.ts';
export { CollectorClient, type CollectorClientOptions, type UploadResult } from './collector/collector-client.ts';
export { COLLECTOR_DI } from './collector/collector-protocol.ts';
export { MqttGateway, type MqttGatewayOptions, type MqttValveResult } from './mqtt/mqtt-gateway.ts';
export { topics, DEFAULT_PREFIX } from './mqtt/topics.ts';
export { CommandLog, type CommandRecord } from './command-log.ts';
export { BusSimulator } from './sim/bus-simulator.ts';
export { MqttSimulator } from './sim/mqtt-simulator.ts';
export { openPtyPair } from './sim/pty.ts';
