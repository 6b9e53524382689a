/**
 * A real MeterHub API for tests: the real plugin host with the stand-in libraries (替身库) in driver-host
 * child processes, a fresh database, one token per role, listening on an ephemeral HTTP port.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp, type ApiConfig } from '../../core/server/app.ts';
import type { ApiRouteModule } from '../../core/server/route-registry.ts';
import '../../core/audit/audit-log.ts';
import type { Role } from '../../core/auth/roles.ts';
import { TokenStore } from '../../core/auth/token-store.ts';
import { KeyVault } from '../../core/ledger/key-vault.ts';
import { openTestDatabase, type TestDatabase } from '../../core/ledger/testing/databases.ts';
import { apiClient, type ApiCall } from '../../core/testing/api-client.ts';
import { createPluginHost } from '../../core/plugins/plugin-host.ts';
import type { PluginHost } from '../../core/plugins/plugin-types.ts';
import { ProfileRegistry } from '../../core/telemetry/profile-registry.ts';

export const ROOT = join(import.meta.dirname, '..', '..');
export const BUNDLED_PLUGINS = join(ROOT, 'plugins');

export type { CallOptions, CallResult } from '../../core/testing/api-client.ts';

export interface TestServer {
  url: string;
  app: FastifyInstance;
  host: PluginHost;
  db: TestDatabase;
  vault: KeyVault;
  tokens: Record<Role, string> & Record<string, string>;
  call: ApiCall;
  close(): Promise<void>;
}

export interface TestServerOptions {
  db?: 'sqlite' | 'postgres';
  /** Use the bundled plugins folder (default true). */
  bundled?: boolean;
  pluginPaths?: string[];
  rateLimit?: ApiConfig['rateLimit'];
  logger?: Logger;
  /** Who may adopt a card unknown to the ledger (ApiConfig.adoption). */
  adoption?: ApiConfig['adoption'];
  /** Extra tokens: name -> role. */
  extraTokens?: Record<string, Role>;
  /** More app configuration (trust proxy, HTTP limits, …). */
  config?: Partial<Omit<ApiConfig, 'vault'>>;
  /** Route plugins of other parts, registered on this app only. */
  routes?: ApiRouteModule[];
}

export async function startTestServer(o: TestServerOptions = {}): Promise<TestServer> {
  const db = await openTestDatabase(o.db ?? 'sqlite');
  const vault = KeyVault.random();
  // The program's dialect registry, as `serve` builds it: the host pushes enabled plugins' profiles into it.
  const profiles = new ProfileRegistry();
  const host = await createPluginHost({
    profiles,
    bundledDir: o.bundled === false ? null : BUNDLED_PLUGINS,
    pluginPaths: o.pluginPaths ?? [],
    ignoreEnv: true,
    dataDir: db.dir,
  });
  const store = new TokenStore(db.database);
  const tokens = {} as TestServer['tokens'];
  for (const role of ['counter', 'bank', 'ops', 'billing'] as const)
    tokens[role] = (await store.create(`${role}-t`, role)).token;
  for (const [name, role] of Object.entries(o.extraTokens ?? {})) tokens[name] = (await store.create(name, role)).token;
  const app = await buildApp({
    pluginHost: host,
    database: db.database,
    profiles,
    ...(o.logger ? { logger: o.logger } : {}),
    config: {
      vault,
      rateLimit: o.rateLimit ?? false,
      logLevel: 'silent',
      ...(o.adoption ? { adoption: o.adoption } : {}),
      ...o.config,
    },
    ...(o.routes ? { routes: o.routes } : {}),
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    url,
    app,
    host,
    db,
    vault,
    tokens,
    call: apiClient(url, () => tokens.ops),
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
