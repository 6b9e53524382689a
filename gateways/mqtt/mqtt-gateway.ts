/**
 * MQTT gateway: uplinks from networked meters and concentrators, valve downlinks with reply matching.
 *
 * Uplinks: QoS 1 subscription on a persistent session (clean = false, fixed clientId per gateway,
 * MQTT 5 session expiry). The PUBACK for an uplink is sent only after its readings are committed to the
 * store + outbox — so a gateway crash or a database failure makes the broker redeliver, and the store's
 * dedupe absorbs the repeat. PUBACKs are sent in receive order (group commit is FIFO), and processing
 * is not serialised on them: many uplinks share one transaction.
 *
 * Downlinks: written to the gateway's durable outbound queue in the same transaction as the command
 * record; published at QoS 1 when connected; "sent" on PUBACK. Replies are matched by command id and
 * validated (address, control, DI, SER). A command past its expiry is cancelled, never sent late.
 */
import { randomUUID } from 'node:crypto';
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { MeterHubDatabase } from '../../core/db/database.ts';
import { CommandRejected, CommandTimeout } from '../../core/readings/errors.ts';
import type { IngestItem, IngestResult } from '../../core/readings/store.ts';
import {
  CONTROL,
  DI,
  FUNCTION,
  FrameStreamDecoder,
  buildValveCommand,
  frameStatus,
  frameToReading,
  fromHex,
  isReadingFrame,
  readingRefusal,
  resolveProfile,
  toHex,
  type DecodedFrameEvent,
  type DialectProfile,
} from '../../core/telemetry/index.ts';
import { CommandLog } from '../command-log.ts';
import { matchReply, SerCounter } from '../reply-match.ts';
import { OutboundQueue } from './outbound-queue.ts';
import { topics, uplinkChunks, type DownlinkJson, type ReplyJson, type StatusJson, type Topics } from './topics.ts';

export interface ReadingSubmitter {
  submit(items: IngestItem[]): Promise<IngestResult>;
}

export interface MqttGatewayOptions {
  url: string;
  gatewayId: string;
  database: MeterHubDatabase;
  pipeline: ReadingSubmitter;
  profile: DialectProfile | string;
  topicPrefix?: string;
  /**
   * MQTT 5 shared subscription group: N gateway instances with the same group split the uplinks
   * (`$share/<group>/<p>/up/+`), each with its own persistent session, PUBACK-after-commit and durable downlink
   * queue. Replies and status stay plain subscriptions: the instance that sent a command must see its reply.
   */
  shareGroup?: string;
  commandTimeoutMs?: number;
  /** Parallel unacknowledged downlink publishes. */
  publishWindow?: number;
  mqtt?: Partial<IClientOptions>;
  onError?(e: unknown): void;
}

export interface MqttGatewayCounters {
  uplinks: number;
  frames: number;
  readings: number;
  badPayloads: number;
  otherFrames: number;
  /** Read replies refused as readings (heat meter, undefined layout, wrong DI byte order), by code. */
  refusedFrames: number;
  acked: number;
  /** PUBACKs not sent because the connection changed before commit (the broker redelivers). */
  ackSkipped: number;
  commitFailures: number;
  downlinksPublished: number;
  replies: number;
  connects: number;
}

interface PendingCommand {
  id: string;
  address: string;
  ser: number;
  action: 'open' | 'close';
  resolve(v: MqttValveResult): void;
  reject(e: unknown): void;
  timer: NodeJS.Timeout;
}

export interface MqttValveResult {
  commandId: string;
  valve: string;
  confirmed: boolean;
  replyFrame: string;
}

export class MqttGateway {
  client: MqttClient | null = null;
  readonly topics: Topics;
  readonly profile: DialectProfile;
  readonly outbound: OutboundQueue;
  readonly commands: CommandLog;
  readonly counters: MqttGatewayCounters = {
    uplinks: 0,
    frames: 0,
    readings: 0,
    badPayloads: 0,
    otherFrames: 0,
    refusedFrames: 0,
    acked: 0,
    ackSkipped: 0,
    commitFailures: 0,
    downlinksPublished: 0,
    replies: 0,
    connects: 0,
  };
  /** Refused read replies by code (counters.refusedFrames is their sum). */
  readonly refusals: Record<string, number> = {};
  /** Online state per device, from retained status messages and LWTs. */
  readonly devices = new Map<string, StatusJson & { seenAt: number }>();
  private readonly pending = new Map<string, PendingCommand>();
  private readonly ser = new SerCounter();
  private publishing = false;
  private publishAgain = false;
  private readonly inflightIds = new Set<number>();
  private stopped = false;

  constructor(private readonly opts: MqttGatewayOptions) {
    this.topics = topics(opts.topicPrefix);
    this.profile = resolveProfile(opts.profile);
    this.outbound = new OutboundQueue(opts.database.db, opts.gatewayId);
    this.commands = new CommandLog(opts.database.db);
  }

  get clientId(): string {
    return `meterhub-gw-${this.opts.gatewayId}`;
  }

  /** Uplinks shared across the group's instances when a share group is set; replies and status never are. */
  get subscriptions(): string[] {
    const t = this.topics;
    const up = this.opts.shareGroup ? `$share/${this.opts.shareGroup}/${t.upWildcard}` : t.upWildcard;
    return [up, t.replyWildcard, t.statusWildcard];
  }

  async start(): Promise<void> {
    const t = this.topics;
    const client = mqtt.connect(this.opts.url, {
      clientId: this.clientId,
      clean: false,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 7 * 24 * 3600, receiveMaximum: 1000 },
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      resubscribe: true,
      will: {
        topic: t.gatewayStatus(this.opts.gatewayId),
        payload: Buffer.from(JSON.stringify({ online: false, kind: 'gateway' })),
        qos: 1,
        retain: true,
      },
      ...this.opts.mqtt,
    });
    this.client = client;
    client.handleMessage = (packet, done) => this.onPacket(packet, done);
    client.on('error', (e) => this.opts.onError?.(e));
    client.on('connect', (connack) => {
      this.counters.connects++;
      // A fresh session (first start, or the broker lost it) needs the subscriptions made again.
      if (!connack.sessionPresent) {
        client.subscribe(this.subscriptions, { qos: 1 }, (err) => {
          if (err) this.opts.onError?.(err);
        });
      }
      client.publish(
        t.gatewayStatus(this.opts.gatewayId),
        JSON.stringify({ online: true, kind: 'gateway', ts: new Date().toISOString() }),
        { qos: 1, retain: true },
      );
      void this.pump();
    });
    await new Promise<void>((resolve, reject) => {
      const onErr = (e: Error) => {
        if (!client.connected) reject(e);
      };
      client.once('connect', () => {
        client.off('error', onErr);
        resolve();
      });
      client.once('error', onErr);
    });
    // Wait for the subscription of a fresh session so nothing published right after start is missed.
    await new Promise<void>((resolve) => client.subscribe(this.subscriptions, { qos: 1 }, () => resolve()));
  }

  /** mqtt.js calls this for every incoming PUBLISH; the PUBACK waits for our commit. */
  private onPacket(packet: IPublishPacket, done: (err?: Error) => void): void {
    const client = this.client!;
    const stream = client.stream;
    const ackLater = packet.qos === 1 && packet.messageId !== undefined;
    const ack = () => {
      if (!ackLater) return;
      if (client.stream !== stream || !client.connected) {
        this.counters.ackSkipped++;
        return;
      }
      this.counters.acked++;
      // Private mqtt.js API: mqtt is pinned exactly in package.json; gateways/mqtt/mqtt-private-api.test.ts fails
      // loudly if an upgrade removes _sendPacket, changes its arity or stops honouring the deferred ack.
      (
        client as unknown as { _sendPacket(p: object, cb?: () => void, cbStore?: () => void, noStore?: boolean): void }
      )._sendPacket({ cmd: 'puback', messageId: packet.messageId }, undefined, undefined, true);
    };
    // Returning an error tells mqtt.js not to PUBACK itself; it still moves on to the next packet.
    done(ackLater ? new Error('deferred-ack') : undefined);
    void this.route(packet).then(ack, (e) => {
      this.counters.commitFailures++;
      this.opts.onError?.(e);
      // No PUBACK: drop the connection so the broker redelivers after reconnect.
      if (client.stream === stream) client.stream.destroy();
    });
  }

  private async route(packet: IPublishPacket): Promise<void> {
    const parsed = this.topics.parse(packet.topic);
    if (!parsed) return;
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    if (parsed.kind === 'up') return this.onUplink(parsed.deviceId, payload);
    if (parsed.kind === 'reply') return this.onReply(parsed.deviceId, payload);
    if (parsed.kind === 'status') {
      if (payload.length === 0) {
        this.devices.delete(parsed.deviceId);
        return;
      }
      try {
        const s = JSON.parse(payload.toString('utf8')) as StatusJson;
        this.devices.set(parsed.deviceId, { ...s, online: s.online === true, seenAt: Date.now() });
      } catch {
        this.counters.badPayloads++;
      }
    }
  }

  private decode(chunks: Uint8Array[]): DecodedFrameEvent[] {
    const out: DecodedFrameEvent[] = [];
    const d = new FrameStreamDecoder({ profile: this.profile, onFrame: (ev) => out.push(ev) });
    for (const c of chunks) {
      d.push(c);
      d.flush();
      d.reset();
    }
    return out;
  }

  private async onUplink(deviceId: string, payload: Buffer): Promise<void> {
    this.counters.uplinks++;
    let frames: DecodedFrameEvent[];
    try {
      frames = this.decode(uplinkChunks(payload));
    } catch {
      // A poison message is acknowledged (after counting): redelivering it forever helps nobody.
      this.counters.badPayloads++;
      return;
    }
    this.counters.frames += frames.length;
    const receivedAt = new Date().toISOString();
    const items: IngestItem[] = [];
    for (const ev of frames) {
      const refusal = readingRefusal(ev.frame, this.profile);
      if (refusal) {
        // Never stored as a reading; acknowledged like any other message, counted for ops by code.
        this.counters.refusedFrames++;
        this.refusals[refusal.code] = (this.refusals[refusal.code] ?? 0) + 1;
        continue;
      }
      if (!isReadingFrame(ev.frame)) {
        this.counters.otherFrames++;
        continue;
      }
      const ctx = { source: 'mqtt', raw: ev.raw, receivedAt, ...(ev.trailer ? { trailer: ev.trailer } : {}) } as const;
      items.push({ reading: frameToReading(ev.frame, this.profile, ctx), origin: `mqtt:${deviceId}` });
    }
    if (!items.length) return;
    await this.opts.pipeline.submit(items);
    this.counters.readings += items.length;
  }

  private async onReply(deviceId: string, payload: Buffer): Promise<void> {
    this.counters.replies++;
    let reply: ReplyJson;
    let frames: DecodedFrameEvent[];
    try {
      reply = JSON.parse(payload.toString('utf8')) as ReplyJson;
      frames = this.decode([fromHex(String(reply.frame))]);
    } catch {
      this.counters.badPayloads++;
      return;
    }
    const ev = frames[0];
    if (!ev) return;
    const pend = reply.id
      ? this.pending.get(reply.id)
      : [...this.pending.values()].find((p) => p.address === ev.frame.address && p.ser === ev.frame.ser);
    const commandId = reply.id ?? pend?.id;
    if (!commandId) return;
    const stored = pend ?? (await this.commands.get(commandId));
    if (!stored) return;
    const address = 'address' in stored ? stored.address : stored.meterId;
    if (address !== deviceId && address !== ev.frame.address) return;
    const kind = matchReply(ev.frame, { address, fn: FUNCTION.WRITE_DATA, di: DI.VALVE, ser: stored.ser });
    if (kind === 'no') return;
    const replyFrame = toHex(ev.raw);
    const st = frameStatus(ev.frame, this.profile);
    if (kind === 'error-reply' || (ev.frame.control & CONTROL.ERROR) !== 0) {
      await this.commands.update(commandId, { status: 'rejected', replyFrame, errorCode: 'GATEWAY_COMMAND_REJECTED' });
      if (pend) {
        clearTimeout(pend.timer);
        this.pending.delete(commandId);
        pend.reject(CommandRejected({ commandId, address, valve: st?.valve ?? 'unknown' }));
      }
      return;
    }
    await this.commands.update(commandId, { status: 'replied', replyFrame });
    if (pend) {
      clearTimeout(pend.timer);
      this.pending.delete(commandId);
      const valve = st?.valve ?? 'unknown';
      pend.resolve({ commandId, valve, confirmed: valve === (pend.action === 'open' ? 'open' : 'closed'), replyFrame });
    }
  }

  /** Valve open/close over MQTT. The command is durable before anything is published. */
  async valve(
    meterId: string,
    action: 'open' | 'close',
    timeoutMs = this.opts.commandTimeoutMs ?? 30_000,
  ): Promise<MqttValveResult> {
    const id = randomUUID();
    const ser = this.ser.next();
    const frame = buildValveCommand(meterId, action, ser, this.profile);
    const expiresAt = new Date(Date.now() + timeoutMs).toISOString();
    const body: DownlinkJson = { v: 1, id, frame: toHex(frame), expiresAt };
    const result = new Promise<MqttValveResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        void (async () => {
          await this.outbound.cancelCommand(id).catch(() => false);
          await this.commands.update(id, { status: 'timeout', errorCode: 'GATEWAY_COMMAND_TIMEOUT' }).catch(() => {});
          reject(CommandTimeout({ commandId: id, meterId }));
        })();
      }, timeoutMs);
      this.pending.set(id, { id, address: meterId, ser, action, resolve, reject, timer });
    });
    await this.opts.database.db.transaction().execute(async (trx) => {
      await new CommandLog(trx).create({
        id,
        meterId,
        transport: 'mqtt',
        action: `valve-${action}`,
        ser,
        requestFrame: toHex(frame),
      });
      await this.outbound.enqueue(
        { topic: this.topics.down(meterId), payload: JSON.stringify(body), qos: 1, commandId: id },
        trx,
      );
    });
    void this.pump();
    return result;
  }

  /** Publishes pending outbound rows while connected; each row is marked sent on its PUBACK. */
  private async pump(): Promise<void> {
    if (this.publishing) {
      this.publishAgain = true;
      return;
    }
    this.publishing = true;
    try {
      do {
        this.publishAgain = false;
        const client = this.client;
        if (!client || !client.connected || this.stopped) return;
        const window = this.opts.publishWindow ?? 20;
        const rows = await this.outbound.pending(window, this.inflightIds);
        if (!rows.length) break;
        for (const row of rows) {
          if (row.commandId && !this.pending.has(row.commandId)) {
            // Nobody waits any more (timed out, or a previous process): only send if not expired.
            const body = JSON.parse(row.payload) as DownlinkJson;
            if (Date.parse(body.expiresAt) <= Date.now()) {
              await this.outbound.cancel(row.id);
              continue;
            }
          }
          this.inflightIds.add(row.id);
          client.publish(row.topic, row.payload, { qos: row.qos, retain: row.retain }, (err) => {
            if (err) {
              this.inflightIds.delete(row.id);
              return;
            }
            void this.outbound
              .markSent(row.id)
              .then(async () => {
                this.counters.downlinksPublished++;
                if (row.commandId) await this.commands.update(row.commandId, { status: 'sent' }).catch(() => {});
              })
              .finally(() => {
                this.inflightIds.delete(row.id);
                void this.pump();
              });
          });
        }
        this.publishAgain = true;
        await new Promise((r) => setImmediate(r));
        if (this.inflightIds.size >= window) break;
      } while (this.publishAgain);
    } finally {
      this.publishing = false;
    }
  }

  deviceOnline(deviceId: string): boolean | undefined {
    return this.devices.get(deviceId)?.online;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(CommandTimeout({ commandId: p.id, reason: 'gateway stopping' }));
    }
    this.pending.clear();
    const client = this.client;
    if (!client) return;
    if (client.connected) {
      await new Promise<void>((r) =>
        client.publish(
          this.topics.gatewayStatus(this.opts.gatewayId),
          JSON.stringify({ online: false, kind: 'gateway' }),
          { qos: 1, retain: true },
          () => r(),
        ),
      );
    }
    await client.endAsync();
  }
}
