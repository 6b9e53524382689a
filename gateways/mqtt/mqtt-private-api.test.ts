/**
 * The MQTT gateway's deferred PUBACK leans on mqtt.js internals (gateways/mqtt/mqtt-gateway.ts, `onPacket`):
 * `handleMessage` calling back with an error keeps mqtt.js from acking, and the private
 * `_sendPacket(packet, cb, cbStorePut, noStore)` writes our PUBACK once the reading is committed. Neither is
 * covered by semver, so mqtt is pinned exactly in package.json and this test fails, naming the version and the
 * file, when an upgrade changes either. No broker: the client talks to an in-memory stream that plays one.
 */
import { readFileSync } from 'node:fs';
import { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { MQTTJS_VERSION, MqttClient } from 'mqtt';
import { waitUntil } from '../../core/testing/work-budget.ts';

const RELIES = 'gateways/mqtt/mqtt-gateway.ts (deferred PUBACK in onPacket)';
const why = (what: string) =>
  `mqtt ${MQTTJS_VERSION}: ${what}. ${RELIES} relies on it; fix that file before upgrading mqtt ` +
  `(see gateways/mqtt/mqtt-private-api.test.ts).`;

type SendPacket = (packet: object, cb?: () => void, cbStorePut?: () => void, noStore?: boolean) => void;

describe('mqtt.js private API the MQTT gateway uses', () => {
  it('mqtt is pinned to an exact version, and the installed one is that version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const pinned = pkg.dependencies['mqtt'];
    expect(pinned, why('package.json must pin mqtt to an exact x.y.z, no ^ or ~')).toMatch(/^\d+\.\d+\.\d+$/);
    expect(MQTTJS_VERSION, why(`installed mqtt differs from the pinned ${pinned}`)).toBe(pinned);
  });

  it('MqttClient.prototype._sendPacket exists and takes (packet, cb, cbStorePut, noStore)', () => {
    const send = (MqttClient.prototype as unknown as { _sendPacket?: unknown })._sendPacket;
    expect(typeof send, why('MqttClient.prototype._sendPacket is gone')).toBe('function');
    expect((send as SendPacket).length, why('_sendPacket no longer takes 4 parameters')).toBe(4);
  });

  describe('deferred PUBACK on a live session (in-memory broker)', () => {
    let client: MqttClient | undefined;
    afterEach(() => {
      client?.end(true);
      client = undefined;
    });

    it('an error from handleMessage suppresses the PUBACK; _sendPacket(noStore) then writes it', async () => {
      const written: number[] = [];
      // The broker's side of the socket: what the client writes lands in `written`, `push` delivers to it.
      const socket = new Duplex({
        read() {},
        write(chunk: Buffer, _encoding, callback) {
          written.push(...chunk);
          callback();
        },
      });
      const fromBroker = { write: (b: Buffer) => socket.push(b) };
      const c = new MqttClient(() => socket, {
        protocolVersion: 5,
        clientId: 'pin-test',
        keepalive: 0,
        reconnectPeriod: 0,
      });
      client = c;
      const delivered: number[] = [];
      c.handleMessage = (packet, done) => {
        if (packet.cmd === 'publish' && packet.messageId !== undefined) delivered.push(packet.messageId);
        done(new Error('deferred-ack'));
      };
      const connected = new Promise<void>((resolve) => c.once('connect', () => resolve()));
      // CONNACK v5: session not present, success, no properties.
      fromBroker.write(Buffer.from([0x20, 0x03, 0x00, 0x00, 0x00]));
      await connected;

      const afterConnect = written.length;
      // PUBLISH v5, QoS 1, topic "t/1", message id 0x1234, no properties, payload "x".
      fromBroker.write(Buffer.from([0x32, 0x09, 0x00, 0x03, 0x74, 0x2f, 0x31, 0x12, 0x34, 0x00, 0x78]));
      await waitUntil(() => delivered.length === 1, 'the delivery');
      await settle();
      expect(delivered).toEqual([0x1234]);
      expect(written.slice(afterConnect), why('handleMessage(done(err)) no longer suppresses the PUBACK')).toEqual([]);

      const send = (c as unknown as { _sendPacket: SendPacket })._sendPacket.bind(c);
      send({ cmd: 'puback', messageId: 0x1234 }, undefined, undefined, true);
      await waitUntil(() => written.length > afterConnect, 'a packet written after the connect');
      // PUBACK: fixed header 0x40, then the message id right after the remaining length.
      const out = written.slice(afterConnect);
      expect(out[0], why('_sendPacket({ cmd: "puback" }, …, true) did not write a PUBACK')).toBe(0x40);
      expect(out.slice(2, 4), why('the PUBACK carries the wrong message id')).toEqual([0x12, 0x34]);
    });
  });
});

/** Lets mqtt.js finish the packet it is handling (its work loop runs on next ticks). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}
