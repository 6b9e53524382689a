/**
 * One HTTP layer (core/http/): the central server and the counter station answer the same error with the same
 * status, the same error-relevant headers and the same body. The station may only add its training label.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIM_READER_LABEL } from '../../core/station/station-app.ts';
import { startTestServer, type TestServer } from '../api/support.ts';
import { startTestStation, type TestStation } from '../station/support.ts';

let api: TestServer;
let station: TestStation;

beforeAll(async () => {
  api = await startTestServer();
  station = await startTestStation({ url: api.url, counterToken: api.tokens.counter });
}, 120_000);
afterAll(async () => {
  await station?.close();
  await api?.close();
});

interface Answer {
  status: number;
  headers: Record<string, string | null>;
  body: any;
}
const ERROR_HEADERS = ['content-type', 'retry-after', 'www-authenticate', 'x-request-id'] as const;

async function raw(
  url: string,
  auth: Record<string, string>,
  method: string,
  path: string,
  o: { body?: string; type?: string; requestId?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...auth };
  if (o.type) headers['content-type'] = o.type;
  if (o.requestId) headers['x-request-id'] = o.requestId;
  const res = await fetch(url + path, { method, headers, ...(o.body !== undefined ? { body: o.body } : {}) });
  const text = await res.text();
  return {
    status: res.status,
    headers: Object.fromEntries(ERROR_HEADERS.map((h) => [h, res.headers.get(h)])),
    body: JSON.parse(text),
  };
}
const toApi = (method: string, path: string, o?: Parameters<typeof raw>[4]) =>
  raw(api.url, { authorization: `Bearer ${api.tokens.counter}` }, method, path, o);
const toStation = (method: string, path: string, o?: Parameters<typeof raw>[4]) =>
  raw(station.url, { authorization: `Bearer ${station.key}`, 'x-meterhub-clerk': station.clerk }, method, path, o);

/** The station on the simulated reader labels every answer; apart from that the answers are equal. */
function expectSame(fromStation: Answer, fromApi: Answer): void {
  expect(fromStation.body.readerLabel).toEqual(SIM_READER_LABEL);
  const { readerLabel: _label, ...stationBody } = fromStation.body;
  expect({ ...fromStation, body: stationBody }).toEqual(fromApi);
}

describe('the API and the station answer errors alike', () => {
  it("not found: 404 NOT_FOUND naming method and path (never the query), the caller's request id echoed", async () => {
    const o = { requestId: 'parity-404' };
    const a = await toApi('GET', '/v1/no-such-thing?secret=1', o);
    const s = await toStation('GET', '/v1/no-such-thing?secret=1', o);
    expect(a.status).toBe(404);
    expect(a.body).toEqual({
      error: {
        code: 'NOT_FOUND',
        message: '未找到：GET /v1/no-such-thing / Not found: GET /v1/no-such-thing',
        messageZh: '未找到：GET /v1/no-such-thing',
        messageEn: 'Not found: GET /v1/no-such-thing',
        details: { method: 'GET', path: '/v1/no-such-thing' },
      },
    });
    expect(a.headers['x-request-id']).toBe('parity-404');
    expectSame(s, a);
  });

  it('a body that is not JSON: 400 BAD_INPUT naming the body', async () => {
    const a = await toApi('POST', '/v1/cards/purchase', {
      type: 'application/json',
      body: '{"gas":',
      requestId: 'parity-json',
    });
    const s = await toStation('POST', '/v1/station/purchase', {
      type: 'application/json',
      body: '{"gas":',
      requestId: 'parity-json',
    });
    expect([a.status, a.body.error.code, a.body.error.details]).toEqual([400, 'BAD_INPUT', { field: 'body' }]);
    expectSame(s, a);
  });

  it('a body of a type no parser takes (XML): 415, and one over the 64 KiB limit: 413', async () => {
    const a415 = await toApi('POST', '/v1/cards/purchase', {
      type: 'application/xml',
      body: '<gas>10</gas>',
      requestId: 'parity-415',
    });
    const s415 = await toStation('POST', '/v1/station/purchase', {
      type: 'application/xml',
      body: '<gas>10</gas>',
      requestId: 'parity-415',
    });
    expect([a415.status, a415.body.error.code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    expectSame(s415, a415);
    const big = JSON.stringify({ gas: 1, pad: 'x'.repeat(70 * 1024) });
    const a413 = await toApi('POST', '/v1/cards/purchase', {
      type: 'application/json',
      body: big,
      requestId: 'parity-413',
    });
    const s413 = await toStation('POST', '/v1/station/purchase', {
      type: 'application/json',
      body: big,
      requestId: 'parity-413',
    });
    expect([a413.status, a413.body.error.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    expectSame(s413, a413);
  });

  it('a schema error: 400 BAD_INPUT naming the field the same way (the routes differ, so the fields do)', async () => {
    const body = JSON.stringify({ gas: '10' });
    const a = await toApi('POST', '/v1/cards/purchase', { type: 'application/json', body, requestId: 'parity-schema' });
    const s = await toStation('POST', '/v1/station/purchase', {
      type: 'application/json',
      body,
      requestId: 'parity-schema',
    });
    for (const x of [a, s]) {
      expect([
        x.status,
        x.body.error.code,
        x.headers['content-type'],
        x.headers['x-request-id'],
        x.headers['retry-after'],
      ]).toEqual([400, 'BAD_INPUT', 'application/json; charset=utf-8', 'parity-schema', null]);
      expect(Object.keys(x.body.error)).toEqual(['code', 'message', 'messageZh', 'messageEn', 'details']);
      expect(x.body.error.messageEn).toBe(
        `Invalid input: ${x.body.error.details.field} ${x.body.error.details.field === 'body.gas' ? 'must be integer' : 'is required'}`,
      );
    }
    expect(s.body.error.details).toEqual({
      field: 'body.gas',
      problems: [{ field: 'body.gas', problem: 'must be integer' }],
    });
    expect(a.body.error.details.problems).toContainEqual({ field: 'body.gas', problem: 'must be integer' });
  });
});
