/**
 * `meterhub serve` as `npm start` runs it (issue 17): from its bundle on a bare node, with its ledger thread and
 * its six driver hosts bundled too. No TypeScript is transformed anywhere under it — tsx would start an esbuild
 * service process for the first file it transforms, in the main thread or in the ledger thread's worker (before
 * this change there were two) — and the bundle finds its files (plugins, schemas, the host entry) from the
 * checkout: six hosts start and /v1/ready says 200.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST_BUNDLE_DIR } from '../driver/host-bundle.ts';
import { ledgerThreadEntry } from '../ledger/thread/ledger-thread.ts';
import { BUILD_DIR, freshBundle } from '../util/bundle-index.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
const SERVER_BUNDLES = join(BUILD_DIR, 'server');
const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);

function descendants(pid: number): number[] {
  const out: number[] = [];
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    let kids: number[] = [];
    try {
      kids = readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      /* thread gone */
    }
    for (const k of kids) out.push(k, ...descendants(k));
  }
  return out;
}

let serve: ChildProcess | undefined;
const dataDir = mkdtempSync(join(tmpdir(), 'mh-serve-bundle-'));

beforeAll(() => {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts/build-host.mjs')], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
});

afterAll(async () => {
  if (serve && serve.exitCode === null) {
    const gone = new Promise((r) => serve!.once('exit', r));
    serve.kill('SIGTERM');
    await gone;
  }
  rmSync(dataDir, { recursive: true, force: true });
});

describe('serve from its bundle', () => {
  it('the bundles are fresh and the ledger thread uses its own', () => {
    expect(freshBundle(SERVER_BUNDLES, 'core/cli/serve-main.ts')).toBe(join(SERVER_BUNDLES, 'serve.mjs'));
    expect(ledgerThreadEntry().pathname).toBe(join(SERVER_BUNDLES, 'ledger-thread.mjs'));
  });

  it('runs with bundled hosts and no TypeScript loader in any process under it', async () => {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env))
      if (!k.startsWith('METERHUB_') && k !== 'DATABASE_URL' && k !== 'PORT' && k !== 'NODE_OPTIONS') env[k] = v;
    serve = spawn(process.execPath, ['bin/meterhub.mjs', 'serve', '--port', '0', '--data', dataDir], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    serve.stdout!.on('data', (d: Buffer) => (out += String(d)));
    serve.stderr!.resume();
    const url = await new Promise<string>((res, rej) => {
      serve!.stdout!.on('data', () => {
        const m = /METERHUB_LISTENING (\S+)/.exec(out);
        if (m) res(m[1]!);
      });
      serve!.once('exit', (code) => rej(new Error(`serve exited ${code}`)));
    });
    // Ready = every required driver host up: the bundle found plugins/ and the host entry from the checkout.
    let status = 0;
    while (status !== 200) {
      status = (await fetch(`${url}/v1/ready`)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    const procs = descendants(serve.pid!).map(cmdline);
    const hosts = procs.filter((c) => c.some((a) => a.includes('driver-host')));
    expect(hosts).toHaveLength(6);
    for (const h of hosts) expect(h).toEqual([process.execPath, join(HOST_BUNDLE_DIR, 'main.mjs')]);
    expect(procs.filter((c) => c.join(' ').includes('esbuild'))).toEqual([]);
    expect(procs.filter((c) => c.join(' ').includes('tsx'))).toEqual([]);
    expect(procs).toHaveLength(6);
  }, 180_000);
});
