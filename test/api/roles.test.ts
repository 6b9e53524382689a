/**
 * Who may do what, per role, over HTTP; rate limits per token; security headers; /docs; health.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rolesFor } from '../../core/auth/roles.ts';
import { freshCardNo, startTestServer, type TestServer } from './support.ts';
import { meterWriteBack } from '../../core/testing/stand-in-meter.ts';
import { startOpsServer, type OpsServer } from '../ops/support.ts';

describe('roles', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({
      // Stands in for the readings route plugin: other parts protect their routes with the authorize() they get.
      extraTokens: { 'bank-other': 'bank', 'counter-other': 'counter' },
    });
  });
  afterAll(async () => s?.close());

  async function issued(token = s.tokens.counter) {
    const cardNo = freshCardNo();
    const r = await s.call('POST', '/v1/cards/issue', {
      token,
      body: { maker: 'kingcard', cardType: '4442', cardNo, gas: 0, meterKind: 1 },
    });
    expect(r.status).toBe(201);
    await s.call('POST', `/v1/transactions/${r.body.transactionId}/confirm`, { token, body: { data: r.body.data } });
    return { cardNo, card: meterWriteBack('kingcard', '4442', r.body.data) };
  }

  it('no token or a bad token: 401 with WWW-Authenticate', async () => {
    for (const token of [null, 'mht_nope', 'garbage']) {
      const r = await s.call('GET', '/v1/makers', { token });
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('UNAUTHORIZED');
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
  });

  it('counter: sells and issues; rewrites/reverses only its own unfinished writes; no plugin switching', async () => {
    const { cardNo, card } = await issued();
    const p = await s.call('POST', '/v1/cards/purchase', {
      token: s.tokens.counter,
      body: { cardType: '4442', data: card, cardNo, gas: 3 },
    });
    expect(p.status).toBe(201);
    // Another counter's token may not touch it (403), nor may cancel-reissue (ops only).
    for (const path of ['reverse', 'rewrite']) {
      const r = await s.call('POST', `/v1/transactions/${p.body.transactionId}/${path}`, {
        token: s.tokens['counter-other'],
      });
      expect(r.status, path).toBe(403);
      expect(r.body.error.details).toMatchObject({ reason: 'not-own-transaction' });
    }
    expect(
      (
        await s.call('POST', `/v1/transactions/${p.body.transactionId}/cancel-reissue`, {
          token: s.tokens.counter,
          body: { data: card },
        })
      ).status,
    ).toBe(403);
    // Its own: rewrite (掉气补气), then reverse the rewrite (冲正) — no supervisor needed.
    const rw = await s.call('POST', `/v1/transactions/${p.body.transactionId}/rewrite`, { token: s.tokens.counter });
    expect(rw.status, JSON.stringify(rw.body)).toBe(201);
    expect(rw.body).toMatchObject({
      operation: 'rewrite',
      refId: p.body.transactionId,
      actor: { name: 'counter-t', role: 'counter' },
    });
    const rev = await s.call('POST', `/v1/transactions/${rw.body.transactionId}/reverse`, {
      token: s.tokens.counter,
      body: { data: card },
    });
    expect(rev.status, JSON.stringify(rev.body)).toBe(200);
    expect(rev.body.state).toBe('REVERSED');
    expect((await s.call('POST', '/v1/plugins/kingcard/disable', { token: s.tokens.counter })).status).toBe(403);
    expect((await s.call('GET', '/v1/makers', { token: s.tokens.counter })).status).toBe(200);
    // CPU cards go through the CPU route (the station's maker library writes them).
    const cpu = await s.call('POST', '/v1/cards/purchase', {
      token: s.tokens.counter,
      body: { cardType: 'cpu', data: '00', cardNo: '1', gas: 1 },
    });
    expect(cpu.status).toBe(422);
    expect(cpu.body.error.code).toBe('CPU_CARD_AT_STATION');
  });

  it("ops may rewrite or reverse any transaction, including a counter's", async () => {
    const { cardNo, card } = await issued();
    const p = await s.call('POST', '/v1/cards/purchase', {
      token: s.tokens.counter,
      body: { cardType: '4442', data: card, cardNo, gas: 3 },
    });
    const rw = await s.call('POST', `/v1/transactions/${p.body.transactionId}/rewrite`, { token: s.tokens.ops });
    expect(rw.status).toBe(201);
    // The rewrite is now ops' transaction: the counter may no longer reverse it.
    expect(
      (await s.call('POST', `/v1/transactions/${rw.body.transactionId}/reverse`, { token: s.tokens.counter })).status,
    ).toBe(403);
    expect(
      (await s.call('POST', `/v1/transactions/${rw.body.transactionId}/reverse`, { token: s.tokens.ops })).body.state,
    ).toBe('REVERSED');
  });

  it('bank: memory-card sales and confirm only; never CPU cards, never ops routes, only its own transactions', async () => {
    const { cardNo, card } = await issued();
    const p = await s.call('POST', '/v1/cards/purchase', {
      token: s.tokens.bank,
      body: { cardType: '4442', data: card, cardNo, gas: 4 },
    });
    expect(p.status).toBe(201);
    expect(p.body.actor).toMatchObject({ name: 'bank-t', role: 'bank', channel: 'bank' });
    expect((await s.call('GET', `/v1/transactions/${p.body.transactionId}`, { token: s.tokens.bank })).status).toBe(
      200,
    );
    expect(
      (await s.call('GET', `/v1/transactions/${p.body.transactionId}`, { token: s.tokens['bank-other'] })).status,
    ).toBe(404);
    const c = await s.call('POST', `/v1/transactions/${p.body.transactionId}/confirm`, {
      token: s.tokens.bank,
      body: { data: p.body.data },
    });
    expect(c.body.state).toBe('CONFIRMED');
    // Its own unfinished memory-card write: the bank may rewrite and reverse it; another bank sees nothing (404).
    const card2 = meterWriteBack('kingcard', '4442', p.body.data);
    const p2 = await s.call('POST', '/v1/cards/purchase', {
      token: s.tokens.bank,
      body: { cardType: '4442', data: card2, cardNo, gas: 2 },
    });
    expect(p2.status, JSON.stringify(p2.body)).toBe(201);
    expect(
      (await s.call('POST', `/v1/transactions/${p2.body.transactionId}/reverse`, { token: s.tokens['bank-other'] }))
        .status,
    ).toBe(404);
    const bankRw = await s.call('POST', `/v1/transactions/${p2.body.transactionId}/rewrite`, { token: s.tokens.bank });
    expect(bankRw.status).toBe(201);
    expect(
      (await s.call('POST', `/v1/transactions/${bankRw.body.transactionId}/reverse`, { token: s.tokens.bank })).body
        .state,
    ).toBe('REVERSED');
    // Never a CPU card: not the CPU route, and not a CPU transaction even if one were visible.
    const cpuPrep = await s.call('POST', '/v1/cards/cpu/prepare', {
      token: s.tokens.bank,
      body: { operation: 'issue', maker: 'tancy', cardNo: freshCardNo(), gas: 1, meterKind: 1, observed: null },
    });
    expect(cpuPrep.status).toBe(403);
    expect(cpuPrep.body.error.code).toBe('FORBIDDEN_CARD_TYPE');
    const cpu: Array<[string, unknown]> = [
      ['/v1/cards/purchase', { cardType: 'cpu', data: '00', cardNo: '1', gas: 1 }],
      ['/v1/cards/identify', { cardType: 'cpu', data: '00' }],
      ['/v1/cards/read', { cardType: 'cpu', data: '00' }],
    ];
    for (const [path, body] of cpu) {
      const r = await s.call('POST', path, { token: s.tokens.bank, body });
      expect(r.status, path).toBe(403);
      expect(r.body.error.code).toBe('FORBIDDEN_CARD_TYPE');
    }
    const forbidden: Array<[string, string, unknown]> = [
      ['POST', '/v1/cards/issue', { maker: 'kingcard', cardType: '4442', cardNo: freshCardNo(), gas: 1, meterKind: 1 }],
      ['POST', '/v1/cards/refund', { cardType: '4442', data: card, cardNo }],
      ['POST', '/v1/cards/format', { cardType: '4442', data: card }],
      ['POST', `/v1/transactions/${p.body.transactionId}/cancel-reissue`, { data: card }],
      ['POST', '/v1/plugins/kingcard/disable', undefined],
      ['GET', '/v1/plugins', undefined],
      ['GET', `/v1/transactions?maker=kingcard&cardNo=${cardNo}`, undefined],
    ];
    for (const [m, path, body] of forbidden) {
      const r = await s.call(m, path, { token: s.tokens.bank, ...(body !== undefined ? { body } : {}) });
      expect(r.status, `${m} ${path}`).toBe(403);
      expect(r.body.error).toMatchObject({ code: 'FORBIDDEN', details: { role: 'bank' } });
    }
  });

  it('billing: readings only', async () => {
    for (const [m, path] of [
      ['GET', '/v1/makers'],
      ['POST', '/v1/cards/identify'],
      ['GET', '/v1/plugins'],
    ] as const) {
      const r = await s.call(m, path, {
        token: s.tokens.billing,
        ...(m === 'POST' ? { body: { cardType: '4442', data: '00' } } : {}),
      });
      expect(r.status, path).toBe(403);
    }
    expect(rolesFor('readings.read')).toContain('billing');
    expect(rolesFor('readings.read')).not.toContain('counter');
  });

  it('ops: plugin enable/disable and transaction administration', async () => {
    const off = await s.call('POST', '/v1/plugins/zenner/disable', { token: s.tokens.ops });
    expect(off.status).toBe(200);
    expect(off.body.enabled).toBe(false);
    const issue = await s.call('POST', '/v1/cards/issue', {
      token: s.tokens.counter,
      body: { maker: 'zenner', cardType: '102', cardNo: freshCardNo(), gas: 1, meterKind: 1 },
    });
    expect(issue.status).toBe(409);
    expect(issue.body.error.code).toBe('PLUGIN_DISABLED');
    const on = await s.call('POST', '/v1/plugins/zenner/enable', { token: s.tokens.ops });
    expect(on.body.enabled).toBe(true);
    const { cardNo, card } = await issued();
    const p = await s.call('POST', '/v1/cards/purchase', {
      token: s.tokens.counter,
      body: { cardType: '4442', data: card, cardNo, gas: 2 },
    });
    const rev = await s.call('POST', `/v1/transactions/${p.body.transactionId}/reverse`, {
      token: s.tokens.ops,
      headers: { 'x-meterhub-channel': 'ops-console' },
    });
    expect(rev.status).toBe(200);
    expect(rev.body.error.message).toMatch(/ops-t \(ops\)/);
  });
});

describe('route plugins of other parts get authorize()', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({
      routes: [
        {
          name: 'readings-probe',
          routes: (app, ctx) => {
            const preHandler = ctx.authorize(rolesFor('readings.read'));
            app.get('/v1/readings-probe', { preHandler }, async () => ({ ok: true }));
          },
        },
      ],
    });
  });
  afterAll(async () => s?.close());

  it('billing may read readings; counter and bank may not', async () => {
    expect((await s.call('GET', '/v1/readings-probe', { token: s.tokens.billing })).body).toEqual({ ok: true });
    expect((await s.call('GET', '/v1/readings-probe', { token: s.tokens.counter })).status).toBe(403);
    expect((await s.call('GET', '/v1/readings-probe', { token: s.tokens.bank })).status).toBe(403);
    expect((await s.call('GET', '/v1/readings-probe', { token: null })).status).toBe(401);
  });
});

describe('rate limits, security headers, docs, health', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ rateLimit: { max: 5, timeWindow: 60_000 } });
  });
  afterAll(async () => s?.close());

  it('limits per token: one token hitting the limit does not affect another', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 7; i++) codes.push((await s.call('GET', '/v1/makers', { token: s.tokens.counter })).status);
    expect(codes.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(codes.slice(5)).toEqual([429, 429]);
    const limited = await s.call('GET', '/v1/makers', { token: s.tokens.counter });
    expect(limited.body.error.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await s.call('GET', '/v1/makers', { token: s.tokens.ops })).status).toBe(200);
  });

  it('security headers on API responses; /docs and the OpenAPI document work', async () => {
    const h = await s.call('GET', '/v1/health', { token: null });
    expect(h.status).toBe(200);
    expect(h.headers.get('x-content-type-options')).toBe('nosniff');
    expect(h.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    expect(h.headers.get('content-security-policy')).not.toMatch(/upgrade-insecure-requests/);
    expect(h.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    const docs = await fetch(`${s.url}/docs/`, { redirect: 'follow' });
    expect(docs.status).toBe(200);
    expect(await docs.text()).toMatch(/swagger/i);
    const init = await fetch(`${s.url}/docs/static/swagger-initializer.js`);
    expect(init.status).toBe(200);
    const spec = await s.call('GET', '/docs/json', { token: null });
    expect(spec.status).toBe(200);
    expect(spec.body.openapi).toMatch(/^3\./);
    for (const p of [
      '/v1/cards/purchase',
      '/v1/cards/identify',
      '/v1/transactions/{id}/confirm',
      '/v1/transactions/{id}/cancel-reissue',
      '/v1/makers/{id}/return-codes',
      '/v1/health',
      '/v1/plugins',
    ]) {
      expect(Object.keys(spec.body.paths)).toContain(p);
    }
    expect(spec.body.components.securitySchemes.bearer.scheme).toBe('bearer');
  });

  it('health (ops view) lists each plugin, its state, stand-ins and the database, with no secrets', async () => {
    const h = await s.call('GET', '/v1/health', { token: s.tokens.ops });
    expect(h.body).toMatchObject({ status: 'ok', standInsInUse: true, database: { ok: true, dialect: 'sqlite' } });
    const ids = h.body.plugins.map((p: { id: string }) => p.id);
    expect(ids).toEqual(expect.arrayContaining(['kingcard', 'zenner', 'lanbaoshi', 'songchuan', 'chint', 'tancy']));
    for (const p of h.body.plugins)
      expect(p).toMatchObject({
        standIn: true,
        library: 'stand-in library / 替身库',
        driver: { state: expect.any(String) },
      });
    expect(JSON.stringify(h.body)).not.toMatch(/mht_|[0-9a-f]{64}/);
  });
});

/**
 * Every route the server serves (the real `serve` path: card API, plugins, readings, console, metrics, docs) has
 * its roles written down here, and each is called: no token → 401, every role not allowed → 403 (before the
 * input is even validated), and for reads every allowed role gets past the role check. A route added without
 * a line here fails this test.
 */
describe('every server route has a role test', () => {
  const ALL = ['counter', 'bank', 'ops', 'billing'] as const;
  const cb = ['counter', 'bank', 'ops'];
  const co = ['counter', 'ops'];
  const EXPECTED: Record<string, string[] | 'public' | 'metrics'> = {
    'GET /docs': 'public',
    'GET /docs/static/index.html': 'public',
    'GET /docs/static/swagger-initializer.js': 'public',
    'GET /docs/json': 'public',
    'GET /docs/yaml': 'public',
    'GET /docs/static/*': 'public',
    'GET /v1/health': 'public',
    'GET /v1/ready': 'public',
    'GET /metrics': 'metrics',
    'GET /console': 'public',
    'GET /console/': 'public',
    'GET /console/*': 'public',
    'GET /v1/makers': cb,
    'GET /v1/makers/:id/return-codes': cb,
    'GET /v1/makers/:id/tool-cards': cb,
    'POST /v1/cards/identify': cb,
    'POST /v1/cards/read': cb,
    'POST /v1/cards/purchase': cb,
    'POST /v1/cards/issue': co,
    'POST /v1/cards/reissue': co,
    'POST /v1/cards/refund': co,
    'POST /v1/cards/format': co,
    'POST /v1/cards/tool': co,
    'POST /v1/cards/cpu/prepare': co,
    'GET /v1/cards/:maker/:cardNo': co,
    'GET /v1/transactions/:id': cb,
    'GET /v1/transactions': co,
    'POST /v1/transactions/:id/confirm': cb,
    'POST /v1/transactions/:id/rewrite': cb,
    'POST /v1/transactions/:id/reverse': cb,
    'POST /v1/transactions/:id/cancel-reissue': ['ops'],
    'GET /v1/plugins': co,
    'POST /v1/plugins/:id/enable': ['ops'],
    'POST /v1/plugins/:id/disable': ['ops'],
    'GET /v1/readings': ['billing', 'ops'],
    'GET /v1/readings/sinks': ['ops'],
    'GET /v1/readings/dead-letters': ['ops'],
    'POST /v1/readings/dead-letters/replay': ['ops'],
    'GET /v1/readings/quarantine': ['billing', 'ops'],
    'GET /v1/readings/quarantine/addresses': ['billing', 'ops'],
    'POST /v1/readings/quarantine/:id/assign': ['ops'],
    'POST /v1/readings/quarantine/:id/dismiss': ['ops'],
    'POST /v1/readings/quarantine/assign-address': ['ops'],
    'GET /v1/ops/transactions': ['ops'],
    'GET /v1/ops/gateway': ['ops'],
    'GET /v1/ops/meters': ['ops'],
    'GET /v1/ops/meters/:id/readings': ['ops'],
    'GET /v1/ops/plugins/:id/conformance': ['ops'],
    'POST /v1/ops/plugins/:id/conformance': ['ops'],
    'POST /v1/cards/adopt': co,
    'POST /v1/imports/cards': ['ops'],
    'GET /v1/imports/:id': ['ops'],
    'POST /v1/imports/meters': ['ops'],
    'GET /v1/meters': ['billing', 'ops'],
    'GET /v1/meters/:address': ['billing', 'ops'],
  };
  const concrete = (url: string) =>
    url
      .replace('/v1/transactions/:id', '/v1/transactions/tx_000000000000')
      .replace('/v1/ops/meters/:id', '/v1/ops/meters/00AA11')
      .replace(':maker/:cardNo', 'kingcard/123456')
      .replace(':address', '31000000000001')
      .replace(':id', 'kingcard')
      .replace('/*', '/index.html');

  let s: OpsServer;
  beforeAll(async () => {
    s = await startOpsServer({ startDrivers: false });
  });
  afterAll(async () => s?.close());

  it('the route table is exactly the expected one, with the expected roles', () => {
    // The registry is process-wide: the probe route the describe above registers is this file's, not the server's.
    const table = s.server.app.meterhub.routeTable.filter(
      (r) => r.method !== 'OPTIONS' && r.url !== '/v1/readings-probe',
    );
    const got = Object.fromEntries(
      table.map((r) => [`${r.method} ${r.url}`, r.roles ? [...r.roles].sort() : 'public']),
    );
    const want = Object.fromEntries(
      Object.entries(EXPECTED).map(([k, v]) => [k, Array.isArray(v) ? [...v].sort() : 'public']),
    );
    expect(got).toEqual(want);
  });

  it('each role-checked route: 401 without a token, 403 for every other role, the role check passed for its roles', async () => {
    for (const [key, roles] of Object.entries(EXPECTED)) {
      if (!Array.isArray(roles)) continue;
      const [method, url] = key.split(' ') as [string, string];
      const path = concrete(url);
      // An input the schema would refuse: the role check must answer first.
      const body = method === 'POST' ? { definitely: 'not valid' } : undefined;
      const anon = await s.call(method, path, { token: null, ...(body ? { body } : {}) });
      expect(anon.status, `${key} anonymous`).toBe(401);
      for (const role of ALL) {
        if (roles.includes(role)) continue;
        const r = await s.call(method, path, { token: s.tokens[role], ...(body ? { body } : {}) });
        expect(r.status, `${key} as ${role}`).toBe(403);
      }
      if (method !== 'GET') continue;
      for (const role of roles) {
        const r = await s.call(method, path, { token: s.tokens[role as keyof typeof s.tokens] });
        expect([401, 403], `${key} as ${role}: ${r.status}`).not.toContain(r.status);
      }
    }
  }, 120_000);

  it('public routes answer without a token; /metrics has its own check (401 without a token)', async () => {
    for (const [key, kind] of Object.entries(EXPECTED)) {
      if (Array.isArray(kind)) continue;
      const [method, url] = key.split(' ') as [string, string];
      const r = await s.call(method, concrete(url), { token: null });
      if (kind === 'metrics') expect(r.status, key).toBe(401);
      else expect([401, 403], `${key}: ${r.status}`).not.toContain(r.status);
    }
  });
});
