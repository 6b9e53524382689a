/**
 * An adoption (认领) is visible in the ops console's card-transaction list, in a real browser (headless Chromium
 * through playwright-core) against a real `startServer`: the card is made on another server (so this ledger has
 * never seen it) and adopted by ops through the API.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meterWriteBack } from '../../core/testing/stand-in-meter.ts';
import { freshCardNo, startTestServer } from '../api/support.ts';
import {
  buildConsole,
  CHROMIUM,
  CHROMIUM_ARGS,
  chromiumAvailable,
  startConsoleServer,
  type ConsoleServer,
} from '../console/support.ts';

describe.skipIf(!chromiumAvailable())('console: an adoption in the transaction list', () => {
  let s: ConsoleServer;
  let context: BrowserContext;
  let profileDir: string;
  let adopted: { transactionId: string; cardNo: string };

  beforeAll(async () => {
    buildConsole();
    const old = await startTestServer();
    const cardNo = freshCardNo();
    let data: string;
    try {
      const i = await old.call('POST', '/v1/cards/issue', {
        body: { maker: 'chint', cardType: '4442', cardNo, gas: 4, meterKind: 1 },
      });
      await old.call('POST', `/v1/transactions/${i.body.transactionId}/confirm`, { body: { data: i.body.data } });
      data = meterWriteBack('chint', '4442', i.body.data);
    } finally {
      await old.close();
    }
    s = await startConsoleServer();
    const a = await s.call('POST', '/v1/cards/adopt', {
      body: { cardType: '4442', data, cardNo, reason: 'go-live e2e' },
    });
    expect(a.status, JSON.stringify(a.body)).toBe(201);
    adopted = { transactionId: a.body.transactionId, cardNo };
    profileDir = mkdtempSync(join(tmpdir(), 'mh-golive-chromium-'));
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1440, height: 900 },
      locale: 'zh-CN',
    });
  }, 180_000);

  afterAll(async () => {
    await context?.close();
    await s?.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  });

  it('lists the adopt transaction with its own name', async () => {
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(30_000);
    await page.goto(`${s.server.url}/console/`);
    await page.locator('input[type="password"]').fill(s.tokens.ops);
    await page.getByTestId('sign-in').click();
    await page.getByRole('menuitem', { name: /卡交易/ }).click();
    const row = page.locator(`tr[data-tx="${adopted.transactionId}"]`);
    await row.waitFor();
    const text = await row.innerText();
    expect(text).toContain('认领（上线）');
    expect(text).toContain(adopted.cardNo);
    expect(await row.getByTestId('tx-state').innerText()).toBe('已确认');
  }, 120_000);
});
