/**
 * The real `meterhub serve` path for ops tests: startServer on a temp data dir with the bundled stand-in
 * plugins (替身库) in driver-host child processes, metrics on, one token per role, a card sold end to end.
 */
import { apiClient, type ApiCall } from '../../core/testing/api-client.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer, type ServerOptions } from '../../core/server/server.ts';
import type { Role } from '../../core/auth/roles.ts';
import { TokenStore } from '../../core/auth/token-store.ts';
import { freshCardNo } from '../api/support.ts';
import { meterWriteBack } from '../../core/testing/stand-in-meter.ts';

export { freshCardNo };

export interface OpsServer {
  server: RunningServer;
  dataDir: string;
  tokens: Record<Role, string>;
  call: ApiCall;
  close(o?: { keepData?: boolean }): Promise<void>;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startOpsServer(
  o: Partial<ServerOptions> & { dataDir?: string; tokens?: Record<Role, string> } = {},
): Promise<OpsServer> {
  const dataDir = o.dataDir ?? tempDir('mh-ops-');
  // The ledger key must come from <data>/ledger.key here (backup tests), never from the developer's shell.
  delete process.env.METERHUB_LEDGER_KEY;
  const server = await startServer({
    port: 0,
    bootstrapToken: false,
    logLevel: 'silent',
    rateLimit: false,
    ...o,
    dataDir,
  });
  let tokens = o.tokens;
  if (!tokens) {
    const store = new TokenStore(server.database);
    tokens = {} as Record<Role, string>;
    for (const role of ['counter', 'bank', 'ops', 'billing'] as const)
      tokens[role] = (await store.create(`${role}-ops-test`, role)).token;
  }
  const t = tokens;
  return {
    server,
    dataDir,
    tokens: t,
    call: apiClient(server.url, () => t.ops),
    async close(c = {}) {
      await server.close();
      if (!c.keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface SoldCard {
  cardNo: string;
  issue: { transactionId: string; oldKey: string; newKey: string; data: string };
  purchase: { transactionId: string; oldKey: string; newKey: string; data: string };
  purchaseIdem: string;
  purchaseBody: { cardType: '4442'; data: string; cardNo: string; gas: number };
}

/** Issue (confirmed), the meter reads the card, purchase with an Idempotency-Key (confirmed). Real stand-in work. */
export async function sellCard(s: OpsServer, maker = 'kingcard', gas = 7): Promise<SoldCard> {
  const cardNo = freshCardNo();
  const issue = await s.call('POST', '/v1/cards/issue', {
    token: s.tokens.counter,
    idem: `iss-${cardNo}`,
    body: { maker, cardType: '4442', cardNo, gas: 3, meterKind: 1 },
  });
  if (issue.status !== 201) throw new Error(`issue failed: ${issue.status} ${issue.text}`);
  const c1 = await s.call('POST', `/v1/transactions/${issue.body.transactionId}/confirm`, {
    token: s.tokens.counter,
    body: { data: issue.body.data },
  });
  if (c1.status !== 200) throw new Error(`confirm failed: ${c1.status} ${c1.text}`);
  const card = meterWriteBack(maker, '4442', issue.body.data);
  const purchaseBody = { cardType: '4442' as const, data: card, cardNo, gas };
  const purchaseIdem = `buy-${cardNo}`;
  const p = await s.call('POST', '/v1/cards/purchase', {
    token: s.tokens.counter,
    idem: purchaseIdem,
    body: purchaseBody,
  });
  if (p.status !== 201) throw new Error(`purchase failed: ${p.status} ${p.text}`);
  const c2 = await s.call('POST', `/v1/transactions/${p.body.transactionId}/confirm`, {
    token: s.tokens.counter,
    body: { data: p.body.data },
  });
  if (c2.status !== 200) throw new Error(`confirm failed: ${c2.status} ${c2.text}`);
  return { cardNo, issue: issue.body, purchase: p.body, purchaseIdem, purchaseBody };
}

/**
 * One sample's value from Prometheus text, e.g. value(text, 'meterhub_x_total', { plugin: 'a' }); undefined if
 * absent.
 */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) got[l[1]!] = l[2]!;
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[4]);
  }
  return undefined;
}

/** Sum of every sample of `name` whose labels include `labels`. */
export function sumSamples(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) got[l[1]!] = l[2]!;
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) total += Number(m[4]);
  }
  return total;
}
