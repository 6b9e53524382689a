/**
 * The counter page (售气界面) end to end: headless Chromium (playwright-core, /usr/bin/chromium) against a
 * station on the simulated reader and a REAL central server. The clerk pairs the page with a key from the
 * real pairing code (handed over as #pair=…), inserts a blank card, issues, meets a refusal (card still holds
 * gas), lets the stand-in meter take the gas, sells, survives a card pulled mid-write by re-delivering
 * (掉气补气), refunds, formats, makes a tool card, prints a receipt and switches to English. Every step is
 * checked on the card and in the ledger, not only on screen. Screenshots go to test-artifacts/station/.
 *
 * In the SAME browser, a page on a second origin (a tiny HTTP server on another port, and a rebound name
 * evil.example mapped to 127.0.0.1 by the browser's resolver) tries issue 13's attacks 1-3: a rebound Host,
 * no-cors POSTs to refund and format, and the event WebSocket. Each fails and the card is unchanged.
 */
import { createServer, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, chromiumAvailable } from '../console/support.ts';
import {
  cleanup,
  freshCardNo,
  ROOT,
  server,
  startCentral,
  startTestStation,
  type CentralProcess,
  type TestStation,
} from './support.ts';

const hasChromium = chromiumAvailable();
const SHOTS = join(ROOT, 'test-artifacts', 'station');

describe.skipIf(!hasChromium)(
  `counter page in Chromium${hasChromium ? '' : ` — skipped: Chromium not found at ${CHROMIUM}`}`,
  () => {
    let central: CentralProcess;
    let st: TestStation;
    let context: BrowserContext;
    let page: Page;
    let profileDir: string;
    let attacker: Server;
    let attackerPort: number;
    let webappPort: number;
    const cardNo = freshCardNo();
    const pageErrors: string[] = [];
    const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
    const card = async () => (await st.call('GET', '/v1/station/card')).body;
    const result = () => page.locator('#result').innerText();
    const ledger = async () =>
      (await server(central, 'GET', `/v1/transactions?maker=kingcard&cardNo=${cardNo}`)).body.transactions as Array<{
        operation: string;
        state: string;
        actor: { channel: string };
      }>;

    beforeAll(async () => {
      mkdirSync(SHOTS, { recursive: true });
      // Two more origins on one tiny server: evil.example:<port> (any page) and yingshou.example:<port>,
      // the company's web app, which the station is told to allow.
      attacker = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end('<!doctype html><title>another site</title><p>another site</p>');
      });
      await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', () => r()));
      attackerPort = (attacker.address() as { port: number }).port;
      webappPort = attackerPort;
      central = await startCentral();
      st = await startTestStation(central, {
        clerk: 'clerk-e2e',
        allowOrigins: [`http://yingshou.example:${webappPort}`],
      });
      profileDir = mkdtempSync(join(tmpdir(), 'mh-counter-chromium-'));
      context = await chromium.launchPersistentContext(profileDir, {
        executablePath: CHROMIUM,
        headless: true,
        viewport: { width: 1280, height: 900 },
        locale: 'zh-CN',
        // evil.example resolves to this PC, as a DNS-rebinding attacker's name would.
        args: [...CHROMIUM_ARGS, '--host-resolver-rules=MAP evil.example 127.0.0.1, MAP yingshou.example 127.0.0.1'],
      });
      page = context.pages()[0] ?? (await context.newPage());
      page.setDefaultTimeout(20_000);
      page.on('pageerror', (e) => pageErrors.push(e.message));
      // Refusals (404 no card, 409 …) are part of the walk-through; Chromium logs each as a failed load.
      page.on('console', (m) => {
        if (m.type() === 'error' && page.url().startsWith(st.url) && !/Failed to load resource/.test(m.text()))
          pageErrors.push(m.text());
      });
    }, 180_000);

    afterAll(async () => {
      await context?.close();
      await new Promise((r) => attacker?.close(r));
      await st?.close();
      await central?.stop();
      if (central) cleanup(central.dataDir);
      if (profileDir) rmSync(profileDir, { recursive: true, force: true });
    });

    it('pairs through #pair=…, keeps the key out of the address bar and shows the training label', async () => {
      await page.goto(`${st.url}/#pair=${st.key}`);
      await page.locator('#pair-state.ok').waitFor();
      expect(page.url()).not.toContain('mhs_');
      expect(await page.evaluate(() => localStorage.getItem('meterhub.station.key'))).toBe(st.key);
      expect(await page.locator('#training').innerText()).toBe('模拟读卡器（培训）');
      await page.locator('#clerk').fill('0107');
      await page.locator('#save-pair').click();
      await page.locator('#ws.on').waitFor();
      expect(await page.locator('#who').innerText()).toContain('0107');
      await shot('01-paired');
    });

    it('inserts a blank card, issues it and prints a receipt naming the clerk', async () => {
      await page.locator('#sim-4442').click();
      await expect.poll(() => page.locator('#card').innerText()).toContain('空白卡');
      await page.locator('#maker').selectOption('kingcard');
      await page.locator('#cardNo').fill(cardNo);
      await page.locator('#gas').fill('20');
      await page.locator('#op-issue').click();
      await expect.poll(result).toContain('发卡成功');
      await expect.poll(() => page.locator('#card').innerText()).toContain(cardNo);
      const receipt = await page.locator('#receipt-text').innerText();
      expect(receipt).toContain('营业员工号: 0107');
      expect(receipt).toContain('培训');
      expect(receipt).toMatch(/交易号: tx_[0-9a-z]+ \(CONFIRMED\)/);
      await shot('02-issued-receipt');
      expect(await card()).toMatchObject({ kind: 'user', cardNo, gas: 20, count: 1 });
    });

    it('shows the operator message of a refusal, then sells after the meter took the gas', async () => {
      await page.locator('#gas').fill('15');
      await page.locator('#op-purchase').click();
      await expect.poll(() => page.locator('#error-code').innerText()).toBe('CARD_NOT_EMPTY');
      expect(await result()).toContain('卡内有气量');
      await shot('03-refused');
      await page.locator('#sim-meter').click();
      await expect.poll(() => page.locator('#card').innerText()).toContain('已回写');
      await page.locator('#op-purchase').click();
      await expect.poll(result).toContain('购气成功');
      expect(await card()).toMatchObject({ gas: 15, count: 2 });
      await shot('04-sold');
    });

    it('a card pulled mid-write: the page names the card state and the re-delivery (掉气补气) finishes it', async () => {
      await page.locator('#sim-meter').click();
      await expect.poll(async () => (await card()).writeBack?.written).toBe(true);
      st.sim.pullCardAfterWrites(4);
      await page.locator('#gas').fill('6');
      await page.locator('#op-purchase').click();
      await expect.poll(() => page.locator('#error-code').innerText()).toBe('STATION_WRITE_FAILED');
      expect(await result()).toContain('只写了一部分');
      expect(
        await page.locator('#recovery button').evaluateAll((bs) => bs.map((b) => (b as HTMLElement).dataset.action)),
      ).toEqual(['retry', 'rewrite']);
      await shot('05-write-failed-recovery');
      st.sim.insert({ image: st.sim.image()! });
      await page.locator('#recovery button[data-action="rewrite"]').click();
      await expect.poll(() => page.locator('#receipt-text').innerText()).toContain('(CONFIRMED)');
      expect(await card()).toMatchObject({ gas: 6, count: 3 });
      await shot('06-rewritten');
    });

    it('refunds, formats and makes a tool card', async () => {
      await page.locator('#op-refund').click();
      await expect.poll(result).toContain('退气成功');
      expect(await card()).toMatchObject({ gas: 0, count: 3 });
      await shot('07-refunded');
      await page.locator('#op-format').click();
      await expect.poll(result).toContain('擦卡成功');
      expect((await card()).kind).toBe('blank');
      await page.locator('#maker').selectOption('chint');
      await page.locator('#tool').selectOption('CLEAR');
      await page.locator('#op-tool').click();
      await expect.poll(() => page.locator('#card').innerText()).toContain('工具卡');
      await shot('08-tool-card');
      const rows = await ledger();
      expect(rows.map((t) => `${t.operation}:${t.state}`)).toEqual([
        'issue:CONFIRMED',
        'purchase:CONFIRMED',
        'purchase:REWRITTEN',
        'rewrite:CONFIRMED',
        'refund:CONFIRMED',
        'format:CONFIRMED',
      ]);
      expect(new Set(rows.map((t) => t.actor.channel))).toEqual(new Set(['station-sim']));
    });

    it('switches to English', async () => {
      await page.locator('#lang').click();
      await expect.poll(() => page.locator('h1').innerText()).toBe('Counter');
      expect(await page.locator('#training').innerText()).toBe('simulated reader (training)');
      await shot('09-english');
      await page.locator('#lang').click();
      expect(pageErrors).toEqual([]);
    });

    it('a page on a second origin cannot rebind, write without a preflight, or listen (attacks 1-3)', async () => {
      // A user card with gas to steal or erase.
      await st.call('POST', '/v1/station/sim/remove', {});
      await st.call('POST', '/v1/station/sim/insert', { cardType: '4442' });
      const victim = freshCardNo();
      expect((await st.call('POST', '/v1/station/issue', { maker: 'kingcard', cardNo: victim, gas: 11 })).status).toBe(
        200,
      );
      const before = await card();
      const stationPort = new URL(st.url).port;

      // 1. DNS rebinding: the browser reaches the station under the attacker's name.
      const rebound = await page.goto(`http://evil.example:${stationPort}/v1/station/card`);
      expect(rebound?.status()).toBe(421);
      expect(await page.content()).not.toContain(victim);

      const evil = await context.newPage();
      await evil.goto(`http://evil.example:${attackerPort}/`);
      const out = await evil.evaluate(
        async ({ station, rebound }) => {
          const log: string[] = [];
          const tryFetch = async (label: string, url: string, init: RequestInit) => {
            try {
              const r = await fetch(url, init);
              log.push(`${label}:${r.type}:${r.status}`);
            } catch (e) {
              log.push(`${label}:blocked:${(e as Error).name}`);
            }
          };
          // 1. The same purchase under the rebound name.
          await tryFetch('rebound-purchase', `${rebound}/v1/station/purchase`, {
            method: 'POST',
            mode: 'no-cors',
            body: '{"gas":99999}',
          });
          // 2. Writes without a preflight, exactly as reported.
          await tryFetch('refund', `${station}/v1/station/refund`, { method: 'POST', mode: 'no-cors' });
          await tryFetch('format', `${station}/v1/station/format`, { method: 'POST', mode: 'no-cors' });
          // ... and a CORS read with a guessed key (needs a preflight the station refuses).
          await tryFetch('cors-read', `${station}/v1/station/card`, { headers: { authorization: 'Bearer mhs_guess' } });
          // 3. The event WebSocket.
          const ws = await new Promise<string>((resolve) => {
            const s = new WebSocket(`${station.replace('http', 'ws')}/v1/station/events`);
            const got: string[] = [];
            s.onopen = () => s.send(JSON.stringify({ type: 'auth', key: 'mhs_guess' }));
            s.onmessage = (m) => got.push(String(m.data));
            s.onerror = () => resolve(`error:${got.length}`);
            s.onclose = (c) => resolve(`closed:${c.code}:${got.length}`);
          });
          log.push(`ws:${ws}`);
          return log;
        },
        { station: `http://127.0.0.1:${stationPort}`, rebound: `http://evil.example:${stationPort}` },
      );
      await evil.screenshot({ path: join(SHOTS, '10-second-origin.png') });
      await evil.close();

      // no-cors answers are opaque to the page; what counts is that the station did nothing.
      expect(out).toEqual([
        'rebound-purchase:opaque:0',
        'refund:opaque:0',
        'format:opaque:0',
        'cors-read:blocked:TypeError',
        expect.stringMatching(/^ws:(error:0|closed:\d+:0)$/),
      ]);
      const after = await card();
      expect(after).toMatchObject({ kind: 'user', cardNo: victim, gas: 11, count: before.count });
      const rows = (await server(central, 'GET', `/v1/transactions?maker=kingcard&cardNo=${victim}`)).body
        .transactions as Array<{ operation: string }>;
      expect(rows.map((t) => t.operation)).toEqual(['issue']);
      // The station refused them at its door: its log names the refusals, never a key.
      const logs = st.logs.join('');
      expect(logs).toContain('STATION_ORIGIN_REFUSED');
      expect(logs).toContain('STATION_BAD_HOST');
      expect(logs).not.toContain(st.key);
    });

    it('the web-app example in docs/station.md runs as written from the allowed origin', async () => {
      const doc = readFileSync(join(ROOT, 'docs/station.md'), 'utf8');
      const at = doc.indexOf('<!-- webapp:example -->');
      const block = /```js\n([\s\S]*?)```/.exec(doc.slice(at))![1]!;
      const stationPort = new URL(st.url).port;
      const code = block.replace("'http://127.0.0.1:8790'", `'http://127.0.0.1:${stationPort}'`);
      expect(code).not.toBe(block);
      await st.call('POST', '/v1/station/sim/meter', {});
      const before = await card();
      const app = await context.newPage();
      await app.goto(`http://yingshou.example:${webappPort}/`);
      // Pairing step 2: the key pasted once into the web app's settings, kept in this PC's browser.
      await app.evaluate((key) => localStorage.setItem('meterhub.station.key', key), st.key);
      const got = (await app.evaluate(`(async () => {
${code}
      for (let i = 0; i < 100 && !events.includes('hello'); i++) await new Promise((r) => setTimeout(r, 50));
      ws.close();
      return { card, sale, refund, events };
    })()`)) as { card: any; sale: any; refund: any; events: string[] };
      await app.close();
      expect(got.card).toMatchObject({ status: 200, cardNo: before.cardNo, kind: 'user' });
      expect(got.sale).toMatchObject({
        status: 200,
        operation: 'purchase',
        gas: 10,
        count: before.count + 1,
        state: 'CONFIRMED',
      });
      expect(got.refund).toMatchObject({ status: 200, operation: 'refund', gas: 0, state: 'CONFIRMED' });
      expect(got.events).toContain('hello');
      expect(await card()).toMatchObject({ gas: 0, count: before.count + 1 });
    });
  },
);
