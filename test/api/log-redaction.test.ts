/**
 * Tokens and card passwords never reach the logs: every line the server writes during real card work
 * (at trace level, request headers included) is captured and searched for them.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshCardNo, startTestServer, type TestServer } from './support.ts';
import { meterWriteBack } from './stand-in-meter.ts';

describe('log redaction', () => {
  const lines: string[] = [];
  let s: TestServer;
  beforeAll(async () => {
    const sink = new Writable({ write(chunk, _enc, cb) { lines.push(...String(chunk).split('\n').filter(Boolean)); cb(); } });
    // A plain caller-supplied logger: the app must add the redaction itself.
    s = await startTestServer({ logger: pino({ level: 'trace' }, sink) });
  });
  afterAll(async () => s?.close());

  it('no token, oldKey or newKey value appears in any log line', async () => {
    const secrets = new Set<string>(Object.values(s.tokens));
    for (const cardType of ['4442', '102'] as const) {
      const cardNo = freshCardNo();
      const issue = await s.call('POST', '/v1/cards/issue', { token: s.tokens.counter, idem: `red-${cardNo}`, body: { maker: 'kingcard', cardType, cardNo, gas: 3, meterKind: 1 } });
      expect(issue.status).toBe(201);
      await s.call('POST', `/v1/transactions/${issue.body.transactionId}/confirm`, { token: s.tokens.counter, body: { data: issue.body.data } });
      const card = meterWriteBack('kingcard', cardType, issue.body.data);
      const p = await s.call('POST', '/v1/cards/purchase', { token: s.tokens.bank, body: { cardType, data: card, cardNo, gas: 4 } });
      expect(p.status).toBe(201);
      const id = await s.call('POST', '/v1/cards/identify', { token: s.tokens.counter, body: { cardType, data: card } });
      for (const v of [issue.body.oldKey, issue.body.newKey, p.body.oldKey, p.body.newKey, id.body.oldKey]) if (v) secrets.add(v);
      // Errors too: a refused request with a token.
      await s.call('POST', '/v1/cards/purchase', { token: s.tokens.counter, body: { cardType, data: card, cardNo, gas: 4 } });
    }
    // Something logging a key object directly is censored as well.
    s.app.log.info({ write: { oldKey: 'ABC123', newKey: 'DEF456' }, token: 'mht_direct' }, 'direct log of a card write');
    secrets.add('ABC123');
    secrets.add('DEF456');
    secrets.add('mht_direct');
    await new Promise((r) => setTimeout(r, 50));

    expect(lines.length).toBeGreaterThan(20);
    const all = lines.join('\n');
    // The header is logged, but censored.
    expect(lines.some((l) => /"authorization":"\[REDACTED\]"/.test(l))).toBe(true);
    expect(lines.some((l) => l.includes('direct log of a card write') && l.includes('"oldKey":"[REDACTED]"'))).toBe(true);
    for (const secret of secrets) {
      // 4-hex 102 keys could collide with other hex in a log line; search them as JSON values only.
      const needle = secret.length <= 6 ? `"${secret}"` : secret;
      expect(all.includes(needle), `secret ${secret.slice(0, 6)}… found in logs`).toBe(false);
    }
    expect(all).not.toMatch(/mht_[A-Za-z0-9_-]{20,}/);
  });
});
