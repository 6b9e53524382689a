/**
 * docs/station.md §7 is a script: this test runs its exact commands — a real central server process, a
 * counter token, a real station process with the sim reader, then every `meterhub card …` line — and
 * compares each command's output with the transcript in the document. Only ports and data folders are
 * made temporary; `…` in the document stands for a transaction id or token.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, cleanup, ROOT, waitForLine } from './support.ts';

const doc = readFileSync(join(ROOT, 'docs/station.md'), 'utf8');
const block = (marker: string) => {
  const at = doc.indexOf(`<!-- walkthrough:${marker} -->`);
  if (at < 0) throw new Error(`docs/station.md has no walkthrough:${marker} block`);
  const m = /```\w*\n([\s\S]*?)```/.exec(doc.slice(at));
  return m![1]!.split('\n').filter((l) => l.length > 0);
};
const setup = block('setup');
const transcript = block('transcript');

const work = mkdtempSync(join(tmpdir(), 'mh-walkthrough-'));
const children: ChildProcess[] = [];
const env: NodeJS.ProcessEnv = { ...process.env, METERHUB_PLUGIN_PATH: '', METERHUB_LOG_LEVEL: 'warn' };
delete env.METERHUB_SIM_CPU_DIR;

afterAll(async () => {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await gone;
    }
  }
  cleanup(work);
});

/** `npx meterhub a b c` -> argv for node bin/meterhub.mjs, with the document's folders and ports made temporary. */
function argv(line: string, urls: { server?: string }): string[] {
  const words = line
    .replace(/\s+#.*$/, '')
    .replace(/\s*&$/, '')
    .trim()
    .split(/\s+/);
  expect(words.slice(0, 2)).toEqual(['npx', 'meterhub']);
  return words
    .slice(2)
    .map((w) =>
      w.replace('./demo/', `${work}/`).replace('http://127.0.0.1:8080', urls.server ?? 'http://127.0.0.1:8080'),
    );
}

describe('docs/station.md walk-through', () => {
  it('the setup block is the one documented (server, token, station, environment)', () => {
    expect(setup.map((l) => l.replace(/\s+#.*$/, ''))).toEqual([
      'npx meterhub serve --data ./demo/server &',
      'npx meterhub token create --role counter --name counter-01 --data ./demo/server',
      'export METERHUB_STATION_TOKEN=mht_…',
      'npx meterhub station pair --name cli --data ./demo/station',
      'export METERHUB_STATION_KEY=mhs_…',
      'export METERHUB_CLERK=0107',
      'npx meterhub station --server http://127.0.0.1:8080 --reader sim --data ./demo/station &',
      'export METERHUB_STATION_URL=http://127.0.0.1:8790',
    ]);
  });

  it('runs every documented command and prints what the document shows', async () => {
    const urls: { server?: string; station?: string } = {};
    let lastOut = '';
    for (const line of setup) {
      if (line.startsWith('export ')) {
        const [name, value] = line
          .slice(7)
          .replace(/\s+#.*$/, '')
          .split('=') as [string, string];
        if (name === 'METERHUB_STATION_URL') env[name] = urls.station;
        // `prefix…` stands for what the previous command printed (a token or a pairing key).
        else if (value.endsWith('…')) env[name] = new RegExp(`${value.slice(0, -1)}\\S+`).exec(lastOut)![0];
        else env[name] = value;
        continue;
      }
      const args = argv(line, urls);
      if (line.trim().endsWith('&')) {
        const child = spawn(process.execPath, [CLI, ...args, '--port', '0'], {
          cwd: ROOT,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        children.push(child);
        if (args[0] === 'serve') urls.server = (await waitForLine(child, /METERHUB_LISTENING (\S+)/))[1];
        else urls.station = (await waitForLine(child, /METERHUB_STATION_LISTENING (\S+)/))[1];
      } else {
        const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, env, encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(0);
        lastOut = r.stdout;
      }
    }
    expect(env.METERHUB_STATION_TOKEN).toMatch(/^mht_/);
    expect(env.METERHUB_STATION_KEY).toMatch(/^mhs_/);
    expect(env.METERHUB_CLERK).toBe('0107');
    expect(env.METERHUB_STATION_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    // The transcript: "$ command" followed by its output.
    const steps: Array<{ cmd: string; out: string[] }> = [];
    for (const l of transcript) {
      if (l.startsWith('$ ')) steps.push({ cmd: l.slice(2), out: [] });
      else steps.at(-1)!.out.push(l);
    }
    expect(steps.length).toBeGreaterThanOrEqual(10);
    for (const s of steps) {
      const r = spawnSync(process.execPath, [CLI, ...argv(s.cmd, urls)], { cwd: ROOT, env, encoding: 'utf8' });
      const printed = (r.stdout + r.stderr).split('\n').filter((l) => l.length > 0);
      const isError = s.out[0]?.startsWith('错误 error');
      expect(r.status, `${s.cmd}\n${r.stdout}${r.stderr}`).toBe(isError ? 2 : 0);
      expect(printed.length, `${s.cmd}\n${printed.join('\n')}`).toBe(s.out.length);
      s.out.forEach((want, i) => {
        const re = new RegExp(`^${want.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/…/g, '[0-9a-z_]+')}$`);
        expect(printed[i], `${s.cmd} line ${i + 1}`).toMatch(re);
      });
    }
  }, 400_000);
});
