/**
 * MQTT topic scheme and payload forms (docs/protocol/mqtt.md). One prefix per deployment.
 *   <p>/up/<deviceId>          uplink: meter or concentrator → gateway            QoS 1, not retained
 *   <p>/down/<deviceId>        downlink command: gateway → device                  QoS 1, not retained
 *   <p>/reply/<deviceId>       command reply: device → gateway                     QoS 1, not retained
 *   <p>/status/<deviceId>      device online state (birth + LWT)                   QoS 1, RETAINED
 *   <p>/gateway/<gwId>/status  gateway online state (birth + LWT)                  QoS 1, RETAINED
 *   <p>/billing/readings/<meterId>  readings for billing (MqttSink)                QoS 1, not retained
 */
import { BadHex, fromHex } from '../../core/telemetry/index.ts';

export const DEFAULT_PREFIX = 'meterhub/v1';

export function topics(prefix = DEFAULT_PREFIX) {
  const p = prefix.replace(/\/+$/, '');
  return {
    up: (id: string) => `${p}/up/${id}`,
    down: (id: string) => `${p}/down/${id}`,
    reply: (id: string) => `${p}/reply/${id}`,
    status: (id: string) => `${p}/status/${id}`,
    gatewayStatus: (id: string) => `${p}/gateway/${id}/status`,
    billing: (meterId: string) => `${p}/billing/readings/${meterId}`,
    upWildcard: `${p}/up/+`,
    replyWildcard: `${p}/reply/+`,
    statusWildcard: `${p}/status/+`,
    /** deviceId and kind of a topic under this prefix, or null. */
    parse(topic: string): { kind: 'up' | 'down' | 'reply' | 'status'; deviceId: string } | null {
      if (!topic.startsWith(`${p}/`)) return null;
      const rest = topic.slice(p.length + 1).split('/');
      if (rest.length !== 2 || !rest[1]) return null;
      const kind = rest[0];
      if (kind === 'up' || kind === 'down' || kind === 'reply' || kind === 'status') return { kind, deviceId: rest[1] };
      return null;
    },
  };
}

export type Topics = ReturnType<typeof topics>;

/** JSON uplink form. `frames` are hex strings (each one or more CJ/T 188 frames, FE preamble allowed). */
export interface UplinkJson {
  v: 1;
  frames: string[];
  /** Device time of sending, informational. */
  ts?: string;
}

export interface DownlinkJson {
  v: 1;
  id: string;
  frame: string;
  /** The device must not execute the command after this instant. */
  expiresAt: string;
}

export interface ReplyJson {
  v: 1;
  id?: string;
  frame: string;
}

export interface StatusJson {
  online: boolean;
  ts?: string;
  kind?: 'meter' | 'concentrator' | 'gateway';
  meters?: string[];
}

/**
 * An uplink payload is either JSON (first byte "{"), hex text (hex digits and whitespace), or the raw
 * frame bytes. Returns the byte strings to feed the stream decoder; throws TELEMETRY_BAD_HEX / SyntaxError.
 */
export function uplinkChunks(payload: Buffer): Uint8Array[] {
  const first = payload.find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
  if (first === 0x7b) {
    const obj = JSON.parse(payload.toString('utf8')) as Partial<UplinkJson>;
    if (!obj || !Array.isArray(obj.frames)) throw BadHex({ reason: 'frames missing' });
    return obj.frames.map((h) => fromHex(String(h).replace(/\s+/g, '')));
  }
  const text = payload.toString('latin1');
  if (/^[0-9A-Fa-f\s]+$/.test(text)) return [fromHex(text.replace(/\s+/g, ''))];
  return [new Uint8Array(payload)];
}
