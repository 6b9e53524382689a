/**
 * The ops console end to end: headless Chromium (playwright-core, the system's /usr/bin/chromium) against a
 * REAL `meterhub serve` with the stand-in plugins, an in-process gateway with a serial bus on socat
 * pseudo-terminals (two live meters, one dead) and a billing webhook that refuses readings with HTTP 400.
 *
 * Sign in with an ops token; disable and enable a plugin; run the conformance kit; find a stuck write and
 * reverse it, rewrite a failed one; replay dead letters once billing accepts again; chart a meter; switch to
 * English; sign out. Every action is checked through the API and the ledger, not only on screen. Screenshots
 * go to test-artifacts/console/.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeReading } from '../../core/readings/testing/fixtures.ts';
import { BusSimulator } from '../../gateways/sim/bus-simulator.ts';
import { openPtyPair, type PtyPair } from '../../gateways/sim/pty.ts';
import {
  artifactsDir,
  BillingWebhook,
  buildConsole,
  CHROMIUM,
  chromiumAvailable,
  launchConsoleBrowser,
  makeTransactions,
  startConsoleServer,
  type ConsoleBrowser,
  type ConsoleServer,
} from './support.ts';

function socatAvailable(): boolean {
  try {
    execFileSync('socat', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.CI === 'true') throw new Error('socat is required in CI (apt-get install socat)');
    return false;
  }
}

const hasChromium = chromiumAvailable();
const hasSocat = socatAvailable();
const reason = !hasChromium
  ? `Chromium not found at ${CHROMIUM} (apt-get install chromium)`
  : 'socat not found (apt-get install socat)';

const LIVE = ['00000000000101', '00000000000102'];
const DEAD = '00000000000103';
const CHART_METER = '30000000007701';

describe.skipIf(!hasChromium || !hasSocat)(
  `ops console in Chromium${hasChromium && hasSocat ? '' : ` — skipped: ${reason}`}`,
  () => {
    let s: ConsoleServer;
    let billing: BillingWebhook;
    let pty: PtyPair;
    let sim: BusSimulator;
    let browser: ConsoleBrowser;
    let page: Page;
    let tx: Awaited<ReturnType<typeof makeTransactions>>;
    const pageErrors: string[] = [];
    const cspViolations: string[] = [];
    const shots = artifactsDir();

    const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
    const nav = (label: RegExp) => page.getByRole('menuitem', { name: label }).click();
    /** Clicks OK in the open confirmation dialog and waits for it to close. */
    const confirmDialog = async () => {
      const ok = page.locator('.ant-modal-confirm').getByTestId('confirm-ok');
      await ok.click();
      await page.locator('.ant-modal-confirm').waitFor({ state: 'detached', timeout: 15_000 });
    };

    beforeAll(async () => {
      buildConsole();
      billing = new BillingWebhook();
      billing.refuse = true;
      await billing.start();
      pty = await openPtyPair();
      sim = new BusSimulator({
        path: pty.simPath,
        baudRate: 9600,
        parity: 'even',
        profile: 'chint',
        meters: [...LIVE.map((address) => ({ address })), { address: DEAD, kind: 'dead' }],
      });
      await sim.open();
      s = await startConsoleServer({
        gateway: {
          gatewayId: 'console-e2e',
          profile: 'chint',
          sinks: { webhook: { url: billing.url, timeoutMs: 3000 } },
          dispatcher: { pollMs: 50 },
          serial: [
            {
              path: pty.gatewayPath,
              baudRate: 9600,
              parity: 'even',
              meters: [...LIVE, DEAD],
              intervalMs: 400,
              retries: 1,
            },
          ],
        },
      });
      tx = await makeTransactions(s);
      // A day of hourly readings for the chart (a meter sending over MQTT, say); refused by billing like the rest.
      await s.server.readings.submit(
        Array.from({ length: 24 }, (_, i) =>
          fakeReading(i * 60, {
            meterId: CHART_METER,
            cumulative: (2000 + i * 0.85 + (i > 17 ? 2 : 0)).toFixed(2),
            source: 'mqtt',
          }),
        ),
      );

      browser = await launchConsoleBrowser();
      page = browser.page;
      page.on('pageerror', (e) => pageErrors.push(e.message));
      page.on('console', (m) => {
        if (/Content Security Policy|Refused to (load|execute|apply|connect)/i.test(m.text()))
          cspViolations.push(m.text());
        else if (m.type() === 'error') pageErrors.push(m.text());
      });
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      await s?.close();
      await sim?.close();
      await pty?.close();
      await billing?.stop();
    });

    it('refuses a non-ops token and signs in with an ops token', async () => {
      await page.goto(`${s.server.url}/console/`);
      await expect.poll(() => page.getByRole('button', { name: /登\s*录/ }).isVisible()).toBe(true);
      await shot('01-sign-in');
      const password = page.locator('input[type="password"]');
      await password.fill(s.tokens.counter);
      await page.getByTestId('sign-in').click();
      await page.getByTestId('login-error').filter({ hasText: '此令牌不是运维（ops）角色' }).waitFor();
      await password.fill(s.tokens.ops);
      await page.getByTestId('sign-in').click();
      await page.getByRole('menuitem', { name: /表厂插件/ }).waitFor();
      // The token is kept for this tab only.
      expect(await page.evaluate(() => sessionStorage.getItem('meterhub.console.token'))).toBe(s.tokens.ops);
      expect(await page.evaluate(() => localStorage.getItem('meterhub.console.token'))).toBeNull();
    });

    it('shows every maker with its stand-in label, and disables then enables one after confirmation', async () => {
      const row = page.locator('tr[data-plugin="songchuan"]');
      await row.waitFor();
      await expect.poll(() => page.locator('tr[data-plugin]').count()).toBe(6);
      expect(await row.innerText()).toContain('stand-in library / 替身库');
      expect(await page.getByTestId('state-songchuan').innerText()).toBe('已启用');
      await shot('02-plugins');

      await page.getByTestId('toggle-songchuan').click();
      await page.locator('.ant-modal-confirm-title', { hasText: '确定停用' }).waitFor();
      // Cancelling changes nothing.
      await page
        .locator('.ant-modal-confirm')
        .getByRole('button', { name: /取\s*消/ })
        .click();
      await page.locator('.ant-modal-confirm').waitFor({ state: 'detached' });
      expect((await s.call('GET', '/v1/plugins')).body.plugins.find((p: any) => p.id === 'songchuan').enabled).toBe(
        true,
      );

      await page.getByTestId('toggle-songchuan').click();
      await confirmDialog();
      await expect.poll(() => page.getByTestId('state-songchuan').innerText()).toBe('已停用');
      expect((await s.call('GET', '/v1/plugins')).body.plugins.find((p: any) => p.id === 'songchuan').enabled).toBe(
        false,
      );
      // A disabled maker's card is refused by the card API.
      const refused = await s.call('POST', '/v1/cards/issue', {
        token: s.tokens.counter,
        body: { maker: 'songchuan', cardType: '4442', cardNo: '9900000001', gas: 5, meterKind: 1 },
      });
      expect(refused.body.error.code).toBe('PLUGIN_DISABLED');

      await page.getByTestId('toggle-songchuan').click();
      await confirmDialog();
      await expect.poll(() => page.getByTestId('state-songchuan').innerText()).toBe('已启用');
      expect((await s.call('GET', '/v1/plugins')).body.plugins.find((p: any) => p.id === 'songchuan').enabled).toBe(
        true,
      );

      // Both actions went through the audited plugin routes, by the console's ops token.
      await s.server.app.meterhub.audit.flush();
      const audit = await s.server.database.db
        .selectFrom('audit_log')
        .select(['path', 'actor', 'channel', 'status'])
        .where('path', 'in', ['/v1/plugins/songchuan/disable', '/v1/plugins/songchuan/enable'])
        .orderBy('seq')
        .execute();
      expect(audit).toEqual([
        { path: '/v1/plugins/songchuan/disable', actor: 'console-ops', channel: 'ops-console', status: 200 },
        { path: '/v1/plugins/songchuan/enable', actor: 'console-ops', channel: 'ops-console', status: 200 },
      ]);
    });

    it('runs the conformance kit on the configured library and shows the checks', async () => {
      await page.getByTestId('conformance-kingcard').click();
      await page.getByTestId('conformance-run').click();
      await page.getByTestId('conformance-verdict').waitFor({ timeout: 60_000 });
      expect(await page.getByTestId('conformance-verdict').innerText()).toBe('通过');
      const drawer = page.getByRole('dialog').filter({ hasText: '一致性测试' });
      expect(await drawer.innerText()).toContain('stand-in library / 替身库');
      expect(await drawer.locator('tbody tr').count()).toBeGreaterThan(20);
      await shot('03-conformance');
      const api = await s.call('GET', '/v1/ops/plugins/kingcard/conformance');
      expect(api.body.result.report.passed).toBe(true);
      // The close button, not Escape: Escape reaches the drawer only while focus is inside it (see below).
      await drawer.locator('.ant-drawer-close').click();
      await drawer.waitFor({ state: 'hidden' });
    });

    it('puts stuck writes first and reverses an unconfirmed one after confirmation', async () => {
      await nav(/卡交易/);
      await page.getByTestId('tx-attention').waitFor();
      expect(await page.getByTestId('tx-attention').innerText()).toMatch(/2 笔写卡待处理/);
      const states = await page.locator('tr[data-tx] [data-testid="tx-state"]').allInnerTexts();
      expect(states.slice(0, 2)).toEqual(['写卡失败', '未确认']);
      expect(states).toContain('已确认');
      await shot('04-transactions');

      // Search by card number: exactly the stuck one.
      await page.getByTestId('tx-cardno').fill(tx.cardNos[1]!);
      await page.getByTestId('tx-search').click();
      await expect.poll(() => page.locator('tr[data-tx]').count()).toBe(1);
      await page.locator(`tr[data-tx="${tx.prepared}"]`).waitFor();

      await page.getByTestId(`reverse-${tx.prepared}`).click();
      await page.locator('.ant-modal-confirm-title', { hasText: '冲正交易' }).waitFor();
      await confirmDialog();
      await expect
        .poll(() => page.locator(`tr[data-tx="${tx.prepared}"] [data-testid="tx-state"]`).innerText())
        .toBe('已冲正');
      // The ledger says so, and the card's count is back to before the write (no card row: a reversed issue).
      const t = await s.call('GET', `/v1/transactions/${tx.prepared}`);
      expect(t.body).toMatchObject({ state: 'REVERSED', error: { code: 'REVERSED' } });
      expect(t.body.error.message).toContain('console-ops');
      expect(await page.getByTestId(`reverse-${tx.prepared}`).count()).toBe(0);
      await s.server.app.meterhub.audit.flush();
      const audit = await s.server.database.db
        .selectFrom('audit_log')
        .selectAll()
        .where('path', '=', `/v1/transactions/${tx.prepared}/reverse`)
        .execute();
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ actor: 'console-ops', role: 'ops', status: 200, tx_id: tx.prepared });
      expect(audit[0]!.idem_key).toMatch(/^console-[0-9a-f]{32}$/);
    });

    it('rewrites a failed write (掉气补气): the old row is REWRITTEN and a new unconfirmed write replaces it', async () => {
      await page.getByTestId('tx-cardno').fill(tx.cardNos[2]!);
      await page.getByTestId('tx-search').click();
      await page.locator(`tr[data-tx="${tx.failed}"]`).waitFor();
      await page.getByTestId(`rewrite-${tx.failed}`).click();
      await confirmDialog();
      await expect
        .poll(() => page.locator(`tr[data-tx="${tx.failed}"] [data-testid="tx-state"]`).innerText())
        .toBe('已重写');
      const hist = await s.call('GET', `/v1/transactions?maker=kingcard&cardNo=${tx.cardNos[2]}`);
      const rewrite = hist.body.transactions.find((x: any) => x.operation === 'rewrite');
      expect(rewrite).toMatchObject({
        state: 'PREPARED',
        refId: tx.failed,
        actor: { name: 'console-ops', channel: 'ops-console' },
      });
      expect(hist.body.transactions.find((x: any) => x.transactionId === tx.failed).state).toBe('REWRITTEN');
      // The new write is the one at the top now, waiting for the station; its card data and keys are not on screen.
      expect(await page.locator('tr[data-tx]').first().getAttribute('data-tx')).toBe(rewrite.transactionId);
      expect(await page.content()).not.toContain(rewrite.data);
    });

    it('shows the serial bus, its meters and the billing sinks, and replays dead letters once billing accepts', async () => {
      // The bus has been polled and every refused reading is a dead letter by now.
      await expect
        .poll(
          async () => {
            const g = (await s.call('GET', '/v1/ops/gateway')).body;
            const meters = g.buses?.[0]?.meters ?? [];
            return (
              meters.filter((m: any) => m.lastReadAt).length === 2 &&
              meters.some((m: any) => m.address === DEAD && m.timeouts > 0)
            );
          },
          { timeout: 30_000 },
        )
        .toBe(true);
      await expect
        .poll(
          async () => {
            const sink = (await s.call('GET', '/v1/readings/sinks')).body.sinks.find((x: any) => x.sink === 'webhook');
            return sink.deadLetters >= 24;
          },
          { timeout: 30_000 },
        )
        .toBe(true);

      await nav(/网关与计费/);
      await page.locator('tr[data-sink="webhook"]').waitFor();
      const busCard = page.locator('.ant-card', { hasText: pty.gatewayPath }).last();
      await busCard.waitFor();
      for (const m of [...LIVE, DEAD]) expect(await busCard.innerText()).toContain(m);
      await shot('05-gateways');

      billing.refuse = false;
      const dead = (await s.call('GET', '/v1/readings/dead-letters?sink=webhook&limit=1000')).body
        .deadLetters as Array<{ readingId: string }>;
      expect(dead.length).toBeGreaterThanOrEqual(24);
      await page.getByTestId('dead-webhook').click();
      const drawer = page.getByRole('dialog').filter({ hasText: '通道 webhook 的死信' });
      await drawer.locator('tr[data-dead]').first().waitFor();
      expect(await drawer.locator(`tr[data-dead="${dead[0]!.readingId}"]`).count()).toBe(1);
      await shot('06-dead-letters');
      await page.getByTestId('replay-all').click();
      await confirmDialog();

      // Every dead reading reaches billing, with its own id as the idempotency key, and the list empties.
      await expect
        .poll(() => dead.every((d) => billing.accepted.some((a) => a.idempotencyKey === d.readingId)), {
          timeout: 30_000,
        })
        .toBe(true);
      for (const d of dead)
        expect(billing.accepted.find((a) => a.idempotencyKey === d.readingId)!.body.id).toBe(d.readingId);
      await expect
        .poll(async () => (await s.call('GET', '/v1/readings/dead-letters?sink=webhook')).body.deadLetters.length)
        .toBe(0);
      await expect.poll(() => drawer.locator('tr[data-dead]').count(), { timeout: 15_000 }).toBe(0);
      await s.server.app.meterhub.audit.flush();
      const audit = await s.server.database.db
        .selectFrom('audit_log')
        .selectAll()
        .where('path', '=', '/v1/readings/dead-letters/replay')
        .execute();
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ actor: 'console-ops', status: 200 });
      // Escape reaches the drawer only while focus is inside it; after the confirm dialog closes, antd gives focus
      // back on a timer, and under two CPU hogs the key came first and the drawer stayed open. The close button
      // does not depend on focus.
      await drawer.locator('.ant-drawer-close').click();
      await drawer.waitFor({ state: 'hidden' });
    });

    it('charts a meter’s readings', async () => {
      await page.goto(`${s.server.url}/console/#/readings?meter=${CHART_METER}`);
      const chart = page.getByTestId('reading-chart').locator('canvas');
      await chart.first().waitFor();
      await expect.poll(() => page.locator('.ant-table-tbody tr.ant-table-row').count()).toBe(20);
      const text = await page.locator('.ant-card').first().innerText();
      expect(text).toContain((2000 + 23 * 0.85 + 2).toFixed(2)); // latest
      expect(text).toContain((23 * 0.85 + 2).toFixed(2)); // used in range, exact decimal
      // Something was drawn: the canvas is not blank.
      const painted = await chart.first().evaluate((c: HTMLCanvasElement) => {
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) n++;
        return n;
      });
      expect(painted).toBeGreaterThan(1000);
      await shot('07-readings');
    });

    it('switches to English, and signs out', async () => {
      await page.getByTestId('lang-toggle').click();
      await page.getByRole('menuitem', { name: /Maker plugins/ }).waitFor();
      await nav(/Card transactions/);
      await page.getByText('Card transaction ledger').waitFor();
      await shot('08-transactions-en');
      await page.getByTestId('sign-out').click();
      await page.getByRole('button', { name: /Sign in/ }).waitFor();
      expect(await page.evaluate(() => sessionStorage.getItem('meterhub.console.token'))).toBeNull();
      // The language choice survives; the token does not.
      await page.reload();
      await page.getByRole('button', { name: /Sign in/ }).waitFor();
    });

    it('ran without a CSP violation or a page error', () => {
      expect(cspViolations).toEqual([]);
      expect(
        pageErrors.filter((e) => !/Failed to load resource: the server responded with a status of (401|403)/.test(e)),
      ).toEqual([]);
    });
  },
);
