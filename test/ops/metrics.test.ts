/**
 * GET /metrics on the real serve path: real card work through the API moves the card-operation, driver and
 * ledger series; a fault build (build/native/faults) that segfaults moves crashes and restarts; the
 * endpoint is closed to anyone without an ops token, the scrape token or an allow-listed address.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { faultPlugin, removeDir } from '../api/support.ts';
import { sample, sellCard, startOpsServer, sumSamples, type OpsServer } from './support.ts';

const SCRAPE_TOKEN = 'scrape-token-for-tests-0123456789';
let s: OpsServer;
let faultDir: string;

beforeAll(async () => {
  faultDir = faultPlugin('segv', 'fault-segv', ['102']);
  s = await startOpsServer({ pluginPaths: [faultDir], metricsAccess: { token: SCRAPE_TOKEN } });
}, 60_000);
afterAll(async () => {
  await s?.close();
  if (faultDir) removeDir(faultDir);
});

const scrape = async () => {
  const r = await s.call('GET', '/metrics');
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return r.text;
};

describe('GET /metrics', () => {
  it('serves Prometheus text with process metrics and only meterhub_-prefixed names', async () => {
    const text = await scrape();
    expect(sample(text, 'meterhub_process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(sample(text, 'meterhub_database_up')).toBe(1);
    expect(sample(text, 'meterhub_plugin_enabled', { plugin: 'kingcard' })).toBe(1);
    expect(sample(text, 'meterhub_plugin_stand_in', { plugin: 'kingcard' })).toBe(1);
    expect(sample(text, 'meterhub_plugin_enabled', { plugin: 'fault-segv' })).toBe(0);
    for (const c of ['ledger', 'outbox', 'plugins', 'database'])
      expect(sample(text, 'meterhub_metrics_collector_up', { collector: c })).toBe(1);
    const names = new Set(
      text
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => l.split(/[{ ]/)[0]),
    );
    for (const n of names) expect(n).toMatch(/^meterhub_[a-z0-9_]+$/);
  });

  it('a purchase through the API moves the card, driver and ledger series (and no card number appears)', async () => {
    const before = await scrape();
    const sold = await sellCard(s);
    const sale = await scrape();
    // A retry of the same purchase is counted as replayed, not as a sale.
    const retry = await s.call('POST', '/v1/cards/purchase', {
      token: s.tokens.counter,
      idem: sold.purchaseIdem,
      body: sold.purchaseBody,
    });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    s.server.metrics!.invalidate();
    const after = await scrape();

    const ops = (t: string, labels: Record<string, string>) => sumSamples(t, 'meterhub_card_operations_total', labels);
    expect(
      ops(after, { operation: 'purchase', maker: 'kingcard', card_type: '4442', result: 'success' }) -
        ops(before, { operation: 'purchase', maker: 'kingcard', card_type: '4442', result: 'success' }),
    ).toBe(1);
    expect(
      ops(after, { operation: 'purchase', maker: 'kingcard', result: 'replayed' }) -
        ops(before, { operation: 'purchase', maker: 'kingcard', result: 'replayed' }),
    ).toBe(1);
    expect(
      ops(after, { operation: 'issue', maker: 'kingcard', result: 'success' }) -
        ops(before, { operation: 'issue', maker: 'kingcard', result: 'success' }),
    ).toBe(1);
    expect(
      ops(after, { operation: 'confirm', maker: 'kingcard', result: 'success' }) -
        ops(before, { operation: 'confirm', maker: 'kingcard', result: 'success' }),
    ).toBe(2);

    // The purchase asked kingcard's library for the card data (Buy) through its driver host.
    const calls = (t: string, fn: string) =>
      sumSamples(t, 'meterhub_driver_calls_total', { plugin: 'kingcard', function: fn, result: 'ok' });
    expect(calls(sale, 'Buy4442Card') - calls(before, 'Buy4442Card')).toBe(1);
    expect(calls(sale, 'WriteNew4442Card') - calls(before, 'WriteNew4442Card')).toBe(1);
    expect(sumSamples(after, 'meterhub_driver_call_duration_seconds_count', { plugin: 'kingcard' })).toBeGreaterThan(
      sumSamples(before, 'meterhub_driver_call_duration_seconds_count', { plugin: 'kingcard' }),
    );
    expect(sample(after, 'meterhub_driver_state', { plugin: 'kingcard', state: 'ready' })).toBe(1);

    const confirmed = (t: string) => sample(t, 'meterhub_ledger_transactions', { state: 'CONFIRMED' }) ?? 0;
    expect(confirmed(after) - confirmed(before)).toBe(2);
    expect(sample(after, 'meterhub_ledger_transactions', { state: 'PREPARED' })).toBe(0);

    // Bounded labels: never a card number, a key or card data.
    for (const secret of [sold.cardNo, sold.purchase.oldKey, sold.purchase.newKey, sold.purchase.data.slice(0, 24)])
      expect(after).not.toContain(secret);
  }, 60_000);

  it('an unconfirmed sale shows as PREPARED with its age', async () => {
    const sold = await sellCard(s, 'chint');
    const { meterWriteBack } = await import('../../core/testing/stand-in-meter.ts');
    const card = meterWriteBack('chint', '4442', sold.purchase.data);
    const p = await s.call('POST', '/v1/cards/purchase', {
      token: s.tokens.counter,
      idem: `open-${sold.cardNo}`,
      body: { cardType: '4442', data: card, cardNo: sold.cardNo, gas: 2 },
    });
    expect(p.status).toBe(201);
    s.server.metrics!.invalidate();
    const text = await scrape();
    expect(sample(text, 'meterhub_ledger_transactions', { state: 'PREPARED' })).toBe(1);
    expect(sample(text, 'meterhub_ledger_oldest_prepared_age_seconds')).toBeGreaterThanOrEqual(0);
    expect(
      sumSamples(text, 'meterhub_card_operations_total', {
        operation: 'purchase',
        maker: 'chint',
        card_type: '4442',
        result: 'success',
      }),
    ).toBe(2);
  }, 60_000);

  it('a driver crash (segv fault build) counts a crash and a restart, and the next call is served', async () => {
    await s.server.pluginHost.enable('fault-segv');
    const d = s.server.pluginHost.driver('fault-segv');
    const issued = await d.writeNew('102', { cardNo: '1234567', gas: 5, count: 1, meterKind: 1 });
    expect(issued.rc).toBe(0);
    const before = await scrape();
    expect(sample(before, 'meterhub_driver_crashes_total', { plugin: 'fault-segv', reason: 'crash' })).toBe(0);
    expect(sample(before, 'meterhub_driver_restarts_total', { plugin: 'fault-segv' })).toBe(0);

    await expect(d.read('102', issued.data)).rejects.toMatchObject({ code: 'DRIVER_CRASHED' });
    await expect(d.writeNew('102', { cardNo: '1234567', gas: 6, count: 1, meterKind: 1 })).resolves.toMatchObject({
      rc: 0,
    });
    const after = await scrape();
    expect(sample(after, 'meterhub_driver_crashes_total', { plugin: 'fault-segv', reason: 'crash' })).toBe(1);
    expect(sample(after, 'meterhub_driver_restarts_total', { plugin: 'fault-segv' })).toBe(1);
    expect(
      sample(after, 'meterhub_driver_calls_total', {
        plugin: 'fault-segv',
        function: 'Read102Card',
        result: 'DRIVER_CRASHED',
      }),
    ).toBe(1);
    expect(sample(after, 'meterhub_driver_state', { plugin: 'fault-segv', state: 'ready' })).toBe(1);
    // Counted per plugin: kingcard did not crash.
    expect(sample(after, 'meterhub_driver_crashes_total', { plugin: 'kingcard', reason: 'crash' })).toBe(0);
    await s.server.pluginHost.disable('fault-segv');
  }, 60_000);

  it('serves the outbox per billing sink', async () => {
    const text = await scrape();
    expect(sample(text, 'meterhub_outbox_backlog', { sink: 'rest' })).toBe(0);
    expect(sample(text, 'meterhub_outbox_lag_seconds', { sink: 'rest' })).toBe(0);
  });

  it('is closed without an ops token, the scrape token or an allow-listed address', async () => {
    expect((await s.call('GET', '/metrics', { token: null })).status).toBe(401);
    const counter = await s.call('GET', '/metrics', { token: s.tokens.counter });
    expect(counter.status).toBe(403);
    expect(counter.body.error.code).toBe('FORBIDDEN');
    // A token that is neither an API token nor the scrape token is not authenticated: 401 (issue 13 #12).
    expect((await s.call('GET', '/metrics', { token: 'not-the-scrape-token-000000000' })).status).toBe(401);
    const scraper = await s.call('GET', '/metrics', { token: SCRAPE_TOKEN });
    expect(scraper.status).toBe(200);
    expect(scraper.text).toContain('meterhub_card_operations_total');
    // The scrape token opens nothing else.
    expect((await s.call('GET', '/v1/transactions?maker=kingcard&cardNo=1', { token: SCRAPE_TOKEN })).status).toBe(401);
  });
});

describe('metrics allow-list', () => {
  it('lets an allow-listed address scrape without a token, and nobody else', async () => {
    const open = await startOpsServer({ metricsAccess: { allow: ['127.0.0.0/8', '::1'] }, tokens: undefined });
    const closed = await startOpsServer({ metricsAccess: { allow: ['10.9.8.0/24'] } });
    try {
      const r = await open.call('GET', '/metrics', { token: null });
      expect(r.status).toBe(200);
      expect(r.text).toContain('meterhub_http_requests_total');
      expect((await closed.call('GET', '/metrics', { token: null })).status).toBe(401);
    } finally {
      await open.close();
      await closed.close();
    }
  }, 60_000);
});
