/**
 * The 待认领读数 (quarantine) page in a real browser (headless Chromium through playwright-core) against a real
 * `startServer` with a meter directory: two readings of an unregistered address are held; ops open the address,
 * assign one to a registered meter, and see it leave the list (the address's count drops to 1); the reading is
 * then a normal reading of that meter. The directory is MemoryDirectory, an in-memory simulator of the
 * MeterDirectory interface (the real one is the meter registry, core/meters).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dedupeKey, readingId } from '../../core/readings/reading-id.ts';
import { fakeReading } from '../../core/readings/testing/fixtures.ts';
import { MemoryDirectory } from '../../core/readings/testing/memory-directory.ts';
import {
  artifactsDir,
  buildConsole,
  chromiumAvailable,
  launchConsoleBrowser,
  signIn,
  startConsoleServer,
  type ConsoleBrowser,
  type ConsoleServer,
} from './support.ts';

const WRONG = '30000000008888';
const RIGHT = '30000000001003';

describe.skipIf(!chromiumAvailable())('console: the quarantine page', () => {
  let s: ConsoleServer;
  let browser: ConsoleBrowser;
  const held = [0, 1].map((i) => fakeReading(40 + i, { meterId: WRONG }));
  const ids = held.map((r) => readingId(dedupeKey(r)));

  beforeAll(async () => {
    buildConsole();
    s = await startConsoleServer({ meterDirectory: new MemoryDirectory([RIGHT]) });
    const res = await s.server.readings.submit(held.map((reading) => ({ reading, origin: 'mqtt:conc7' })));
    expect(res.quarantined).toEqual(ids);
    browser = await launchConsoleBrowser({ timeoutMs: 30_000 });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  it('assigns one held reading to a registered meter and sees it leave the list', async () => {
    const page = browser.page;
    await signIn(page, s.server.url, s.tokens.ops);
    await page.getByRole('menuitem', { name: /待认领读数/ }).click();
    const group = page.locator(`tr[data-address="${WRONG}"]`);
    await group.waitFor();
    expect(await group.getByTestId('q-count').innerText()).toBe('2');
    expect(await group.innerText()).toContain('mqtt:conc7');
    await group.locator('.ant-table-row-expand-icon').click();
    const one = page.locator(`tr[data-qid="${ids[0]}"]`);
    await one.waitFor();
    await page.locator(`tr[data-qid="${ids[1]}"]`).waitFor();

    // A target the registry does not know is refused; the reading stays.
    await one.getByTestId('q-assign').click();
    await page.getByTestId('q-input').fill('30000000007777');
    await page.getByTestId('q-ok').click();
    await page.getByText(/READING_QUARANTINE_TARGET_UNKNOWN/).waitFor();
    expect(await one.count()).toBe(1);

    await page.getByTestId('q-input').fill(RIGHT);
    await page.getByTestId('q-ok').click();
    await one.waitFor({ state: 'detached' });
    await page.locator(`tr[data-qid="${ids[1]}"]`).waitFor();
    await expect.poll(async () => group.getByTestId('q-count').innerText()).toBe('1');
    await page.screenshot({ path: join(artifactsDir(), 'quarantine.png'), fullPage: true });

    const stored = readingId(dedupeKey({ ...held[0]!, meterId: RIGHT }));
    expect((await s.server.readings.store.get(stored))?.meterId).toBe(RIGHT);
    const row = await s.call('GET', `/v1/readings/quarantine?address=${WRONG}`);
    expect(row.body.items.map((i: { state: string; actedBy: string | null }) => [i.state, i.actedBy])).toEqual([
      ['assigned', 'console-ops (ops)'],
      ['held', null],
    ]);
  }, 120_000);
});
