/**
 * A real `meterhub serve` child process on loopback (port 0), as ops would run it: started, SIGKILLed,
 * restarted on the same data directory. Optional fault points (core/ledger/faults.ts) are armed through
 * METERHUB_ALLOW_FAULTS=1 + METERHUB_FAULT, never through NODE_ENV.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { environment } from '../config/environment.ts';

export const ROOT = join(import.meta.dirname, '..', '..');

export interface ServeChild {
  url: string;
  pid: number;
  proc: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface ServeOptions {
  dataDir: string;
  databaseUrl?: string;
  pluginPaths?: string[];
  fault?: string;
  /** Fixed port (clients reconnect to the same address after a restart); default any free port. */
  port?: number;
  startTimeoutMs?: number;
}

export function startServe(o: ServeOptions): Promise<ServeChild> {
  const env: NodeJS.ProcessEnv = { ...environment() };
  delete env.DATABASE_URL;
  delete env.METERHUB_FAULT;
  delete env.METERHUB_PLUGIN_PATH;
  if (o.databaseUrl) env.DATABASE_URL = o.databaseUrl;
  if (o.fault) Object.assign(env, { METERHUB_ALLOW_FAULTS: '1', METERHUB_FAULT: o.fault });
  const args = [
    join(ROOT, 'bin', 'meterhub.mjs'),
    'serve',
    '--port',
    String(o.port ?? 0),
    '--host',
    '127.0.0.1',
    '--data',
    o.dataDir,
    '--log-level',
    'error',
    '--no-bootstrap-token',
  ];
  if (o.pluginPaths?.length) args.push('--plugin-path', ...o.pluginPaths);
  const proc = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let out = '';
  proc.stdout!.on('data', (d) => {
    out += String(d);
  });
  proc.stderr!.on('data', (d) => {
    out += String(d);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`meterhub serve did not start: ${out.slice(-2000)}`));
    }, o.startTimeoutMs ?? 60_000);
    const onData = () => {
      const m = /METERHUB_LISTENING (\S+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      proc.stdout!.off('data', onData);
      resolve({
        url: m[1]!,
        pid: proc.pid!,
        proc,
        exited,
        alive: () => proc.exitCode === null && proc.signalCode === null,
        output: () => out,
        async kill(signal = 'SIGKILL') {
          if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
          return exited;
        },
      });
    };
    proc.stdout!.on('data', onData);
    void exited.then((x) => {
      clearTimeout(timer);
      reject(new Error(`meterhub serve exited early (${x.code ?? x.signal}): ${out.slice(-2000)}`));
    });
  });
}

export interface HttpResult<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** JSON over HTTP; a refused or reset connection rejects (the caller decides whether to retry). */
export async function call<T = any>(
  url: string,
  method: string,
  path: string,
  token: string | null,
  body?: unknown,
  idem?: string,
  timeoutMs = 30_000,
): Promise<HttpResult<T>> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (idem) headers['idempotency-key'] = idem;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url + path, {
    method,
    headers,
    signal: AbortSignal.timeout(timeoutMs),
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}
