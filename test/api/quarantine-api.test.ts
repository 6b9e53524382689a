/**
 * The quarantine over HTTP on the real `serve` path (startServer with a meter directory): billing and ops list held
 * readings (one by one and grouped by address); only ops assign and dismiss; an unregistered target is refused with
 * a stable bilingual code; assigning twice stores once and the billing feed carries it once; the audit row of an
 * assign names the quarantined reading; GET /metrics counts the quarantine. The directory is MemoryDirectory, an
 * in-memory simulator of the MeterDirectory interface (the real one is the meter registry, core/meters).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dedupeKey, readingId } from '../../core/readings/reading-id.ts';
import { fakeReading } from '../../core/readings/testing/fixtures.ts';
import { MemoryDirectory } from '../../core/readings/testing/memory-directory.ts';
import { startOpsServer, type OpsServer } from '../ops/support.ts';

const KNOWN = '30000000001001';
const WRONG = '30000000009999';
const RIGHT = '30000000001002';

describe('quarantine REST', () => {
  let s: OpsServer;
  const directory = new MemoryDirectory([KNOWN, RIGHT]);
  const held = [0, 1, 2].map((i) => fakeReading(i, { meterId: WRONG }));
  const ids = held.map((r) => readingId(dedupeKey(r)));

  beforeAll(async () => {
    s = await startOpsServer({ startDrivers: false, meterDirectory: directory });
    const res = await s.server.readings.submit([...held, fakeReading(1)]);
    expect(res.quarantined).toEqual(ids);
  });
  afterAll(async () => s?.close());

  it('billing and ops read the list and the grouped view; counter and bank may not', async () => {
    for (const role of ['billing', 'ops'] as const) {
      const list = await s.call('GET', `/v1/readings/quarantine?address=${WRONG}&state=held`, {
        token: s.tokens[role],
      });
      expect(list.status, role).toBe(200);
      expect(list.body.items.map((i: { id: string }) => i.id)).toEqual(ids);
      expect(list.body.items[0]).toMatchObject({ address: WRONG, state: 'held', reason: 'unknown-meter' });
      const groups = await s.call('GET', '/v1/readings/quarantine/addresses', { token: s.tokens[role] });
      expect(groups.body.groups).toEqual([expect.objectContaining({ address: WRONG, count: 3, makers: ['chint'] })]);
    }
    for (const role of ['counter', 'bank'] as const) {
      expect((await s.call('GET', '/v1/readings/quarantine', { token: s.tokens[role] })).status).toBe(403);
    }
    const page = await s.call('GET', '/v1/readings/quarantine?limit=2');
    expect(page.body.items).toHaveLength(2);
    const rest = await s.call('GET', `/v1/readings/quarantine?limit=2&after=${page.body.nextAfter}`);
    expect(rest.body.items.map((i: { id: string }) => i.id)).toEqual([ids[2]]);
    expect(rest.body.nextAfter).toBeNull();
    expect((await s.call('GET', '/v1/readings/quarantine?state=lost')).status).toBe(400);
  });

  it('assign: billing may not; an unregistered target is refused; once stored, twice stored once', async () => {
    const path = `/v1/readings/quarantine/${ids[0]}/assign`;
    expect((await s.call('POST', path, { token: s.tokens.billing, body: { address: RIGHT } })).status).toBe(403);
    const unknown = await s.call('POST', path, { body: { address: '30000000007777' } });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error).toMatchObject({
      code: 'READING_QUARANTINE_TARGET_UNKNOWN',
      details: { address: '30000000007777', nextStep: 'register-meter' },
    });
    expect(unknown.body.error.messageZh).toMatch(/未在表具台账登记/);
    expect((await s.call('POST', path, { body: { address: 'not-hex!' } })).status).toBe(400);
    const a = await s.call('POST', path, { body: { address: RIGHT } });
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    const stored = readingId(dedupeKey({ ...held[0]!, meterId: RIGHT }));
    expect(a.body).toEqual({ id: ids[0], state: 'assigned', assignedTo: RIGHT, readingId: stored, stored: true });
    const again = await s.call('POST', path, { body: { address: RIGHT } });
    expect(again.body).toMatchObject({ stored: false, readingId: stored });
    const elsewhere = await s.call('POST', path, { body: { address: KNOWN } });
    expect(elsewhere.status).toBe(409);
    expect(elsewhere.body.error.code).toBe('READING_QUARANTINE_STATE_CONFLICT');
    const missing = await s.call('POST', `/v1/readings/quarantine/rd_${'0'.repeat(32)}/assign`, {
      body: { address: RIGHT },
    });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('READING_QUARANTINE_NOT_FOUND');
    // Billing pulls the feed: the assigned reading once, as a reading of the registered meter.
    expect(await s.server.readings.drained(20_000)).toBe(true);
    const feed = await s.call('GET', '/v1/readings?after=0', { token: s.tokens.billing });
    const mine = feed.body.items.filter((i: { id: string }) => i.id === stored);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ meterId: RIGHT, meterTime: held[0]!.meterTime });
    expect(feed.body.items.some((i: { meterId: string }) => i.meterId === WRONG)).toBe(false);
    // Audited: the call's audit row carries the quarantined reading's id.
    const audit = await s.server.database.db
      .selectFrom('audit_log')
      .select(['tx_id', 'status', 'role'])
      .where('route', '=', '/v1/readings/quarantine/:id/assign')
      .where('status', '=', 200)
      .execute();
    expect(audit.map((r) => r.tx_id)).toEqual([ids[0], ids[0]]);
  });

  it('dismiss needs a reason; then the reading is settled; bulk assign takes the rest of the address', async () => {
    const path = `/v1/readings/quarantine/${ids[1]}/dismiss`;
    expect((await s.call('POST', path, { body: {} })).status).toBe(400);
    expect((await s.call('POST', path, { token: s.tokens.billing, body: { reason: 'x' } })).status).toBe(403);
    const d = await s.call('POST', path, { body: { reason: '厂家测试表 / maker test meter' } });
    expect(d.status).toBe(200);
    expect(d.body).toMatchObject({
      state: 'dismissed',
      note: '厂家测试表 / maker test meter',
      actedBy: 'ops-ops-test (ops)',
    });
    const bulk = await s.call('POST', '/v1/readings/quarantine/assign-address', { body: { from: WRONG, to: RIGHT } });
    expect(bulk.body).toEqual({ from: WRONG, to: RIGHT, assigned: 1, stored: 1 });
    const left = await s.call('GET', '/v1/readings/quarantine/addresses');
    expect(left.body.groups).toEqual([]);
    const states = await s.call('GET', `/v1/readings/quarantine?address=${WRONG}`);
    expect(states.body.items.map((i: { state: string }) => i.state)).toEqual(['assigned', 'dismissed', 'assigned']);
  });

  it('GET /metrics counts quarantined readings and held ones', async () => {
    const m = await s.call('GET', '/metrics');
    expect(m.status).toBe(200);
    expect(m.text).toMatch(/meterhub_readings_ingested_total\{result="quarantined"\} 3\b/);
    expect(m.text).toMatch(/meterhub_readings_ingested_total\{result="assigned"\} 2\b/);
    expect(m.text).toMatch(/meterhub_readings_quarantine_held 0\b/);
  });
});
