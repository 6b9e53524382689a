/**
 * A real MeterHub API for tests: the real plugin host with the stand-in libraries (替身库) in driver-host
 * child processes, a fresh database, one token per role, listening on an ephemeral HTTP port.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp, type ApiConfig } from '../../core/api/app.ts';
import '../../core/audit/audit-log.ts';
import type { Role } from '../../core/auth/roles.ts';
import { TokenStore } from '../../core/auth/token-store.ts';
import { KeyVault } from '../../core/ledger/key-vault.ts';
import { openTestDatabase, type TestDatabase } from '../../core/ledger/testing/databases.ts';
import { createPluginHost } from '../../core/plugins/plugin-host.ts';
import type { PluginHost } from '../../core/plugins/plugin-types.ts';

export const ROOT = join(import.meta.dirname, '..', '..');
export const BUNDLED_PLUGINS = join(ROOT, 'plugins');

export interface CallOptions {
  token?: string | null;
  body?: unknown;
  idem?: string;
  headers?: Record<string, string>;
}

export interface CallResult<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export interface TestServer {
  url: string;
  app: FastifyInstance;
  host: PluginHost;
  db: TestDatabase;
  vault: KeyVault;
  tokens: Record<Role, string> & Record<string, string>;
  call<T = any>(method: string, path: string, o?: CallOptions): Promise<CallResult<T>>;
  close(): Promise<void>;
}

export interface TestServerOptions {
  db?: 'sqlite' | 'postgres';
  /** Use the bundled plugins folder (default true). */
  bundled?: boolean;
  pluginPaths?: string[];
  rateLimit?: ApiConfig['rateLimit'];
  logger?: Logger;
  /** Extra tokens: name -> role. */
  extraTokens?: Record<string, Role>;
}

export async function startTestServer(o: TestServerOptions = {}): Promise<TestServer> {
  const db = await openTestDatabase(o.db ?? 'sqlite');
  const vault = KeyVault.random();
  const host = await createPluginHost({
    bundledDir: o.bundled === false ? null : BUNDLED_PLUGINS, pluginPaths: o.pluginPaths ?? [], ignoreEnv: true, dataDir: db.dir,
  });
  const store = new TokenStore(db.database);
  const tokens = {} as TestServer['tokens'];
  for (const role of ['counter', 'bank', 'ops', 'billing'] as const) tokens[role] = (await store.create(`${role}-t`, role)).token;
  for (const [name, role] of Object.entries(o.extraTokens ?? {})) tokens[name] = (await store.create(name, role)).token;
  const app = await buildApp({
    pluginHost: host, database: db.database,
    ...(o.logger ? { logger: o.logger } : {}),
    config: { vault, rateLimit: o.rateLimit ?? false, logLevel: 'silent' },
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    url, app, host, db, vault, tokens,
    async call(method, path, c = {}) {
      const headers: Record<string, string> = { ...(c.headers ?? {}) };
      const token = c.token === undefined ? tokens.ops : c.token;
      if (token) headers.authorization = `Bearer ${token}`;
      if (c.idem) headers['idempotency-key'] = c.idem;
      let body: string | undefined;
      if (c.body !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(c.body);
      }
      const res = await fetch(url + path, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      let parsed: unknown = text;
      try { parsed = text ? JSON.parse(text) : null; } catch { /* not JSON (e.g. /docs html) */ }
      return { status: res.status, headers: res.headers, body: parsed as any };
    },
    async close() {
      await app.close();
      await host.close();
      await db.cleanup();
    },
  };
}

export { faultPlugin } from '../../core/testing/fault-plugin.ts';

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A card number nobody else in this run uses. */
let n = 0;
export function freshCardNo(): string {
  return `${(Date.now() % 1e8).toString().padStart(8, '0')}${(++n).toString().padStart(4, '0')}`;
}
