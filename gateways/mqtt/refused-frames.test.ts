/**
 * What real meters send, through a real broker (issue 20): a heat meter's 901F reply on the same uplink as a gas
 * reply is refused (counted by code), never stored as a gas reading; an NB-IoT dialect's trailing RSSI bytes are
 * kept with the reading.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { serviceAvailable } from '../../core/testing/services.ts';
import { createReadingPipeline } from '../../core/readings/pipeline.ts';
import { tempSqlite } from '../../core/readings/testing/fixtures.ts';
import { buildReadReply, DI, registerProfile, toHex, type DialectProfile } from '../../core/telemetry/index.ts';
import { PrivateMosquitto } from '../testing/mosquitto.ts';
import { MqttGateway } from './mqtt-gateway.ts';

/** 68 T A0..A6 C L DATA CS 16 for meter 78330011223344, checksum summed here. */
function frame(type: number, data: number[]): number[] {
  const head = [0x68, type, 0x44, 0x33, 0x22, 0x11, 0x00, 0x33, 0x78, 0x81, data.length, ...data];
  return [...head, head.reduce((s, b) => s + b, 0) & 0xff, 0x16];
}
const HEAT = frame(0x20, [
  0x1f,
  0x90,
  0x00,
  ...new Array<number>(34).fill(0x00),
  0x42,
  0x15,
  0x08,
  0x30,
  0x06,
  0x24,
  0x20,
  0x00,
  0x00,
]);

describe('MQTT gateway and replies the profile does not read', async () => {
  const available = await serviceAvailable('mosquitto');
  let broker: PrivateMosquitto;
  beforeAll(async () => {
    if (available) broker = await PrivateMosquitto.start({ persistence: false });
  });
  afterAll(async () => {
    await broker?.destroy();
  });

  async function run(profile: DialectProfile | string, gatewayId: string, payloadHex: string[]) {
    const temp = tempSqlite();
    const db = temp.open();
    const pipeline = createReadingPipeline({ database: db, dispatcher: { pollMs: 20 } });
    await pipeline.start();
    const gw = new MqttGateway({ url: broker.url, gatewayId, database: db, pipeline, profile });
    await gw.start();
    const pub = await mqtt.connectAsync(broker.url, { clientId: `${gatewayId}-pub`, protocolVersion: 5 });
    await pub.publishAsync(gw.topics.up('dev1'), JSON.stringify({ v: 1, frames: payloadHex }), { qos: 1 });
    await pub.endAsync();
    const end = Date.now() + 20_000;
    while (gw.counters.acked < 1 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    const rows = await db.db.selectFrom('readings').selectAll().execute();
    const result = { counters: { ...gw.counters }, refusals: { ...gw.refusals }, rows };
    await gw.stop();
    await pipeline.close();
    await db.close();
    await temp.drop();
    return result;
  }

  it(
    'a heat-meter reply beside a gas reply: one reading stored, one refusal counted',
    { timeout: 60_000 },
    async (ctx) => {
      if (!available) ctx.skip();
      const gas = buildReadReply(
        '78330011223355',
        DI.CURRENT,
        1,
        { cumulative: '12.34', settlement: '10.00', meterTime: '2025-01-01T00:00:00', status: { valve: 'open' } },
        'cjt188-company',
      );
      const r = await run('cjt188-company', 'refuse-heat', [toHex(Uint8Array.from(HEAT)), toHex(gas)]);
      expect(r.counters.acked).toBe(1);
      expect(r.rows.map((x) => x.meter_id)).toEqual(['78330011223355']);
      expect(r.counters.refusedFrames).toBe(1);
      expect(r.refusals).toEqual({ TELEMETRY_METER_TYPE_UNSUPPORTED: 1 });
    },
  );

  it('an NB-IoT dialect keeps the RSSI bytes after 16H with the reading', { timeout: 60_000 }, async (ctx) => {
    if (!available) ctx.skip();
    const nb = registerProfile({
      name: 'test-mqtt-nbiot',
      diOrder: 'le',
      clockOrder: 'le',
      preamble: 0,
      trailer: { length: 2, name: 'rssi', zh: '信号强度', en: 'signal strength' },
      source: 'test',
    } as DialectProfile);
    const gas = buildReadReply(
      '78330011223366',
      DI.CURRENT,
      1,
      { cumulative: '1.00', settlement: '1.00', meterTime: '2025-01-01T00:00:00', status: { valve: 'open' } },
      nb,
    );
    const r = await run(nb, 'nbiot-rssi', [toHex(gas) + '1A05']);
    expect(r.rows).toHaveLength(1);
    expect(JSON.parse(r.rows[0]!.meta).trailer).toEqual({ name: 'rssi', hex: '1A05' });
  });
});
