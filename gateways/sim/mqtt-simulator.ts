/**
 * MQTT meter + concentrator simulator. Networked meters publish one 901F reply per uplink; a
 * concentrator publishes batches of its meters' replies in the JSON form. Every device keeps a retained
 * status (birth on connect, LWT offline), answers valve downlinks with a reply frame, and ignores
 * expired commands. Frames come from the shared codec. Each reading has its own meter time (one minute
 * apart), so the expected set of reading ids is known exactly.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { dedupeKey, readingId } from '../../core/readings/reading-id.ts';
import {
  CONTROL,
  DI,
  FUNCTION,
  FrameStreamDecoder,
  VALVE_ACTION,
  buildErrorReply,
  buildReadReply,
  buildValveReply,
  fromHex,
  resolveProfile,
  toHex,
  type DialectProfile,
} from '../../core/telemetry/index.ts';
import { topics, type DownlinkJson, type ReplyJson, type Topics } from '../mqtt/topics.ts';

export interface MqttSimOptions {
  url: string;
  profile: DialectProfile | string;
  topicPrefix?: string;
  /** Meters that talk MQTT themselves. */
  meters?: string[];
  /** Concentrators, each with its meters. */
  concentrators?: Array<{ id: string; meters: string[] }>;
  /** Frames per concentrator uplink (default 20). */
  batch?: number;
  /** Uplink form: 'json' or 'hex' (meters only; concentrators always JSON). */
  form?: 'json' | 'hex';
  /** First meter time (ms since epoch); readings step one minute per meter. */
  startTime?: number;
}

interface SimDevice {
  id: string;
  client: MqttClient;
  meters: string[];
  kind: 'meter' | 'concentrator';
}

const pad = (n: number) => String(n).padStart(2, '0');
export const simClock = (ms: number) => {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
};

export class MqttSimulator {
  readonly topics: Topics;
  readonly profile: DialectProfile;
  private readonly devices: SimDevice[] = [];
  private readonly step = new Map<string, number>();
  readonly valves = new Map<string, 'open' | 'closed'>();
  readonly counters = { published: 0, acked: 0, downlinks: 0, expiredIgnored: 0, replies: 0 };
  /** Ids of every reading whose uplink the broker acknowledged. */
  readonly ackedIds = new Set<string>();
  readonly allIds = new Set<string>();
  private readonly start: number;

  constructor(private readonly opts: MqttSimOptions) {
    this.topics = topics(opts.topicPrefix);
    this.profile = resolveProfile(opts.profile);
    this.start = opts.startTime ?? Date.UTC(2025, 0, 1);
  }

  async connect(): Promise<void> {
    const make = (id: string, kind: 'meter' | 'concentrator', meters: string[]) => {
      const client = mqtt.connect(this.opts.url, {
        clientId: `sim-${kind}-${id}`,
        clean: false,
        protocolVersion: 5,
        properties: { sessionExpiryInterval: 3600 },
        reconnectPeriod: 300,
        connectTimeout: 5000,
        will: {
          topic: this.topics.status(id),
          payload: Buffer.from(JSON.stringify({ online: false, kind })),
          qos: 1,
          retain: true,
        },
      });
      client.on('error', () => {});
      client.on('connect', () => {
        client.publish(
          this.topics.status(id),
          JSON.stringify({ online: true, kind, meters, ts: new Date().toISOString() }),
          { qos: 1, retain: true },
        );
        client.subscribe(this.topics.down(id), { qos: 1 });
        for (const m of kind === 'concentrator' ? meters : []) client.subscribe(this.topics.down(m), { qos: 1 });
      });
      client.on('message', (topic, payload) => this.onDownlink(client, topic, payload));
      for (const m of meters) this.valves.set(m, 'open');
      const dev = { id, client, meters, kind };
      this.devices.push(dev);
      return new Promise<void>((resolve) => client.once('connect', () => resolve()));
    };
    await Promise.all([
      ...(this.opts.meters ?? []).map((m) => make(m, 'meter', [m])),
      ...(this.opts.concentrators ?? []).map((c) => make(c.id, 'concentrator', c.meters)),
    ]);
  }

  private nextFrame(meter: string): { hex: string; id: string } {
    const k = this.step.get(meter) ?? 0;
    this.step.set(meter, k + 1);
    const meterTime = simClock(this.start + k * 60_000);
    const cents = 10_000 + k * 13;
    const frame = buildReadReply(
      meter,
      DI.CURRENT,
      k & 0xff,
      {
        cumulative: `${Math.floor(cents / 100)}.${pad(cents % 100)}`,
        settlement: '100.00',
        meterTime,
        status: { valve: this.valves.get(meter) ?? 'open' },
      },
      this.profile,
    );
    const id = readingId(dedupeKey({ meterId: meter, meterTime, rawFrame: '' }));
    this.allIds.add(id);
    return { hex: toHex(frame), id };
  }

  private publish(dev: SimDevice, payload: string, ids: string[]): Promise<void> {
    this.counters.published++;
    return new Promise((resolve) => {
      dev.client.publish(this.topics.up(dev.id), payload, { qos: 1 }, (err) => {
        if (!err) {
          this.counters.acked++;
          for (const id of ids) this.ackedIds.add(id);
        }
        resolve();
      });
    });
  }

  /**
   * Publishes `rounds` readings per meter. Returns once mqtt.js has handed every uplink to the broker
   * and got its PUBACK (it keeps QoS 1 publishes across reconnects for this long-lived process).
   */
  async run(rounds: number, opts: { paceMs?: number; onRound?(r: number): void | Promise<void> } = {}): Promise<void> {
    const batch = this.opts.batch ?? 20;
    for (let r = 0; r < rounds; r++) {
      const work: Promise<void>[] = [];
      for (const dev of this.devices) {
        if (dev.kind === 'meter') {
          const f = this.nextFrame(dev.id);
          work.push(
            this.publish(
              dev,
              this.opts.form === 'hex'
                ? f.hex
                : JSON.stringify({ v: 1, frames: [f.hex], ts: new Date().toISOString() }),
              [f.id],
            ),
          );
        } else {
          const frames = dev.meters.map((m) => this.nextFrame(m));
          for (let i = 0; i < frames.length; i += batch) {
            const part = frames.slice(i, i + batch);
            work.push(
              this.publish(
                dev,
                JSON.stringify({ v: 1, frames: part.map((f) => f.hex), ts: new Date().toISOString() }),
                part.map((f) => f.id),
              ),
            );
          }
        }
      }
      await opts.onRound?.(r);
      if (opts.paceMs) {
        await new Promise((res) => setTimeout(res, opts.paceMs));
        void Promise.all(work);
      } else await Promise.all(work);
    }
    await this.settled();
  }

  /** Resolves when every publish so far has been acknowledged by the broker. */
  async settled(timeoutMs = 120_000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (this.counters.acked < this.counters.published && Date.now() < end)
      await new Promise((r) => setTimeout(r, 20));
    return this.counters.acked >= this.counters.published;
  }

  private onDownlink(client: MqttClient, topic: string, payload: Buffer): void {
    const parsed = this.topics.parse(topic);
    if (!parsed || parsed.kind !== 'down') return;
    this.counters.downlinks++;
    let cmd: DownlinkJson;
    try {
      cmd = JSON.parse(payload.toString('utf8')) as DownlinkJson;
    } catch {
      return;
    }
    if (Date.parse(cmd.expiresAt) <= Date.now()) {
      this.counters.expiredIgnored++;
      return;
    }
    const frames: Array<{ address: string; control: number; di?: number; ser?: number; payload: Uint8Array }> = [];
    const d = new FrameStreamDecoder({ profile: this.profile, onFrame: (ev) => frames.push(ev.frame) });
    d.push(fromHex(cmd.frame));
    const f = frames[0];
    if (!f || !this.valves.has(f.address)) return;
    let reply: Uint8Array;
    const fn = f.control & CONTROL.FUNCTION_MASK;
    if (
      fn === FUNCTION.WRITE_DATA &&
      f.di === DI.VALVE &&
      (f.payload[0] === VALVE_ACTION.open || f.payload[0] === VALVE_ACTION.close)
    ) {
      const v = f.payload[0] === VALVE_ACTION.open ? 'open' : 'closed';
      this.valves.set(f.address, v);
      reply = buildValveReply(f.address, f.ser ?? 0, { valve: v }, this.profile);
    } else {
      reply = buildErrorReply(
        f.address,
        fn,
        f.di ?? 0,
        f.ser ?? 0,
        { valve: this.valves.get(f.address) ?? 'open' },
        this.profile,
      );
    }
    const body: ReplyJson = { v: 1, id: cmd.id, frame: toHex(reply) };
    this.counters.replies++;
    // Replies come from the device the meter belongs to.
    client.publish(this.topics.reply(f.address), JSON.stringify(body), { qos: 1 });
  }

  async close(): Promise<void> {
    await Promise.all(this.devices.map((d) => d.client.endAsync(true)));
  }
}
