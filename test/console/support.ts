/**
 * The ops console under test: a REAL `meterhub serve` (startServer, port 0, temp data dir, the bundled
 * stand-in plugins), a local billing webhook that can be told to refuse, and headless Chromium through
 * playwright-core. The console is built from console/ first (node console/build.mjs --if-stale).
 */
import { apiClient, type ApiCall } from '../../core/testing/api-client.ts';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startServer, type RunningServer, type ServerOptions } from '../../core/server/server.ts';
import { TokenStore } from '../../core/auth/token-store.ts';
import type { Role } from '../../core/auth/roles.ts';

export const ROOT = join(import.meta.dirname, '..', '..');
export const ARTIFACTS = join(ROOT, 'test-artifacts', 'console');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** True when Chromium is installed; in CI a missing browser is an error, never a silent skip. */
export function chromiumAvailable(): boolean {
  const ok = existsSync(CHROMIUM);
  if (!ok && process.env.CI === 'true')
    throw new Error(`Chromium not found at ${CHROMIUM}; CI requires it (apt-get install chromium)`);
  return ok;
}

/** A fresh headless Chromium profile for one test file; `close()` also removes the profile. */
export interface ConsoleBrowser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

export async function launchConsoleBrowser(o: { timeoutMs?: number } = {}): Promise<ConsoleBrowser> {
  const profileDir = mkdtempSync(join(tmpdir(), 'mh-console-chromium-'));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1440, height: 900 },
    locale: 'zh-CN',
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(o.timeoutMs ?? 15_000);
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(profileDir, { recursive: true, force: true });
    },
  };
}

/** Signs in to the console with `token` and waits for the menu (an ops token; others are refused on the page). */
export async function signIn(page: Page, serverUrl: string, token: string): Promise<void> {
  await page.goto(`${serverUrl}/console/`);
  await page.locator('input[type="password"]').fill(token);
  await page.getByTestId('sign-in').click();
  await page.getByRole('menuitem', { name: /表厂插件/ }).waitFor();
}

export function buildConsole(): void {
  execFileSync(process.execPath, [join(ROOT, 'console', 'build.mjs'), '--if-stale'], { cwd: ROOT, stdio: 'pipe' });
}

export function artifactsDir(): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return ARTIFACTS;
}

/** A billing system's webhook: records every delivery; refuses (HTTP 400) while `refuse` is true. */
export class BillingWebhook {
  refuse = false;
  readonly accepted: Array<{
    idempotencyKey: string;
    body: { id: string; meterId: string; cumulative: string | null };
  }> = [];
  refusedCount = 0;
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        if (this.refuse) {
          this.refusedCount++;
          res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"unknown meter"}');
          return;
        }
        this.accepted.push({ idempotencyKey: String(req.headers['idempotency-key']), body: JSON.parse(body) });
        res.writeHead(200).end('{}');
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/billing`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

export interface ConsoleServer {
  server: RunningServer;
  dataDir: string;
  tokens: Record<Role, string>;
  call: ApiCall;
  close(): Promise<void>;
}

export async function startConsoleServer(o: Partial<ServerOptions> = {}): Promise<ConsoleServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mh-console-'));
  const server = await startServer({
    port: 0,
    dataDir,
    bootstrapToken: false,
    logLevel: 'error',
    rateLimit: false,
    pluginPaths: [],
    ...o,
  });
  const store = new TokenStore(server.database);
  const tokens = {} as Record<Role, string>;
  for (const role of ['counter', 'bank', 'ops', 'billing'] as const)
    tokens[role] = (await store.create(`console-${role}`, role)).token;
  return {
    server,
    dataDir,
    tokens,
    call: apiClient(server.url, () => tokens.ops),
    async close() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

let seq = 0;
export function freshCardNo(): string {
  return `${(Date.now() % 1e8).toString().padStart(8, '0')}${(++seq).toString().padStart(4, '0')}`;
}
export function idem(): string {
  return `console-test-${process.pid}-${Date.now()}-${++seq}`;
}

/**
 * Ledger rows in each state the console sorts on, made through the card API as a counter would:
 * CONFIRMED (issued and confirmed with its own data), PREPARED (issued, never confirmed), FAILED (confirmed
 * with another card's read-back).
 */
export async function makeTransactions(
  s: ConsoleServer,
  maker = 'kingcard',
): Promise<{ confirmed: string; prepared: string; failed: string; cardNos: string[] }> {
  const issue = async (cardNo: string) => {
    const r = await s.call('POST', '/v1/cards/issue', {
      token: s.tokens.counter,
      idem: idem(),
      body: { maker, cardType: '4442', cardNo, gas: 20, meterKind: 1 },
    });
    if (r.status !== 201) throw new Error(`issue ${cardNo}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body as { transactionId: string; data: string };
  };
  const [a, b, c] = [freshCardNo(), freshCardNo(), freshCardNo()];
  const confirmed = await issue(a);
  const ok = await s.call('POST', `/v1/transactions/${confirmed.transactionId}/confirm`, {
    token: s.tokens.counter,
    body: { data: confirmed.data },
  });
  if (ok.status !== 200) throw new Error(`confirm: ${ok.status} ${JSON.stringify(ok.body)}`);
  const prepared = await issue(b);
  const failed = await issue(c);
  // The station "wrote" card c but read back card a: the read-back does not say what was meant.
  const bad = await s.call('POST', `/v1/transactions/${failed.transactionId}/confirm`, {
    token: s.tokens.counter,
    body: { data: confirmed.data },
  });
  if (bad.status !== 409) throw new Error(`confirm with a wrong read-back: ${bad.status} ${JSON.stringify(bad.body)}`);
  return {
    confirmed: confirmed.transactionId,
    prepared: prepared.transactionId,
    failed: failed.transactionId,
    cardNos: [a, b, c],
  };
}
