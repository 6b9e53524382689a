/**
 * Station tests run against a REAL central server process (`node bin/meterhub.mjs serve --port 0`) on
 * SQLite, with tokens made by `meterhub token create`. The station itself runs in the test process (so
 * tests can reach the simulated reader's fault hooks) and talks to the server over real HTTP.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import {
  createStationLogger,
  startStation,
  type RunningStation,
  type StationOptions,
} from '../../core/station/station.ts';
import { SimReader } from '../../core/station/readers/sim/sim-reader.ts';
import { createPairing } from '../../core/station/station-pairing.ts';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'bin', 'meterhub.mjs');

export interface CentralProcess {
  url: string;
  dataDir: string;
  opsToken: string;
  counterToken: string;
  child: ChildProcess;
  stderr(): string;
  stop(): Promise<void>;
}

/** Waits for a line matching `re` on a child's stdout. */
export function waitForLine(child: ChildProcess, re: RegExp, timeoutMs = 180_000): Promise<RegExpExecArray> {
  return new Promise((res, rej) => {
    let buf = '';
    const t = setTimeout(() => rej(new Error(`timeout waiting for ${re}; got: ${buf.slice(-2000)}`)), timeoutMs);
    const on = (d: Buffer) => {
      buf += d.toString();
      const m = re.exec(buf);
      if (m) {
        clearTimeout(t);
        child.stdout?.off('data', on);
        res(m);
      }
    };
    child.stdout?.on('data', on);
    child.once('exit', (code) => {
      clearTimeout(t);
      rej(new Error(`process exited (${code}) before ${re}: ${buf.slice(-2000)}`));
    });
  });
}

export async function startCentral(): Promise<CentralProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mh-station-central-'));
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data', dataDir, '--log-level', 'warn'], {
    cwd: ROOT,
    env: { ...process.env, METERHUB_PLUGIN_PATH: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const m = await waitForLine(child, /METERHUB_LISTENING (\S+)/);
  const ops = /Authorization: Bearer (\S+)/.exec(err)?.[1];
  if (!ops) throw new Error(`no bootstrap ops token printed: ${err.slice(-500)}`);
  const t = spawnSync(
    process.execPath,
    [CLI, 'token', 'create', '--role', 'counter', '--name', 'counter-t', '--data', dataDir, '--json'],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (t.status !== 0) throw new Error(`token create failed: ${t.stderr}`);
  const counterToken = (JSON.parse(t.stdout) as { token: string }).token;
  return {
    url: m[1]!,
    dataDir,
    opsToken: ops,
    counterToken,
    child,
    stderr: () => err,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await gone;
      }
    },
  };
}

export function cleanup(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface TestStation {
  station: RunningStation;
  sim: SimReader;
  url: string;
  logs: string[];
  /** The pairing key every call carries (made with the real pairing code before the station starts). */
  key: string;
  /** The clerk every call names (X-MeterHub-Clerk). */
  clerk: string;
  dataDir: string;
  /** A call as a paired client makes it: pairing key and clerk; `headers` adds to or overrides them. */
  call<T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
}

export async function startTestStation(
  central: { url: string; counterToken: string },
  o: Partial<StationOptions> & { clerk?: string } = {},
): Promise<TestStation> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mh-station-'));
  // The proof lives here, once: every station test pairs like a real client and names a clerk.
  const { key } = createPairing(dataDir, 'station-tests');
  const { clerk = 'clerk-0107', ...options } = o;
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk, _e, cb) {
      logs.push(chunk.toString());
      cb();
    },
  });
  const station = await startStation({
    server: central.url,
    token: central.counterToken,
    reader: 'sim',
    port: 0,
    dataDir,
    pluginsDir: join(ROOT, 'plugins'),
    logger: createStationLogger({ level: 'debug', destination }) as pino.Logger,
    serverRetries: 1,
    serverTimeoutMs: 10_000,
    ...options,
  });
  const url = station.url;
  return {
    station,
    sim: station.reader as SimReader,
    url,
    logs,
    key,
    clerk,
    dataDir,
    async call(method, path, body, extra = {}) {
      const headers: Record<string, string> = { authorization: `Bearer ${key}`, 'x-meterhub-clerk': clerk, ...extra };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(url + path, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        /* html */
      }
      return { status: res.status, body: parsed as any };
    },
    async close() {
      await station.close();
      cleanup(dataDir);
    },
  };
}

/** A call to the central server with a token (to look at the ledger from outside). */
export async function server<T = any>(
  central: CentralProcess,
  method: string,
  path: string,
  token = central.opsToken,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(central.url + path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as T };
}

export function popcount(n: number): number {
  let c = 0;
  for (let x = n; x; x >>= 1) c += x & 1;
  return c;
}

let seq = 0;
export function freshCardNo(prefix = '32'): string {
  return `${prefix}${(Date.now() % 1e7).toString().padStart(7, '0')}${(++seq).toString().padStart(3, '0')}`;
}

/**
 * Issues a user card on the station's simulated reader and lets the meter take its gas: a card with count 1,
 * ready for a sale. Returns its card number.
 */
export async function issueUserCard(
  st: TestStation,
  o: { maker: string; cardType: '4442' | '102'; cardNo?: string },
): Promise<string> {
  const cardNo = o.cardNo ?? freshCardNo();
  const inserted = await st.call('POST', '/v1/station/sim/insert', { cardType: o.cardType });
  if (inserted.status !== 200) throw new Error(`sim insert: ${JSON.stringify(inserted.body)}`);
  const r = await st.call('POST', '/v1/station/issue', { maker: o.maker, cardNo, gas: 10 });
  if (r.status !== 200) throw new Error(`issue: ${r.status} ${JSON.stringify(r.body)}`);
  const m = await st.call('POST', '/v1/station/sim/meter', {});
  if (m.status !== 200) throw new Error(`meter: ${JSON.stringify(m.body)}`);
  return cardNo;
}
