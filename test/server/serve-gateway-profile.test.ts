/**
 * `meterhub serve --gateway <file>` resolves the gateway's profile in the server's own registry, after its plugin
 * host has pushed the plugins' dialects. It used to check the name before that, against a process registry that
 * then held only the built-in dialects, so a config naming a bundled plugin's dialect ("chint") exited 2 with
 * TELEMETRY_PROFILE_UNKNOWN. A child process is needed: the vitest setup seeds this process's by-name lookup.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliBudgetMs } from '../../core/testing/work-budget.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'mh-serve-gw-profile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts serve and settles with what it printed once it listens or exits. */
function serve(gatewayFile: string): Promise<{ listening: boolean; code: number | null; out: string }> {
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'bin', 'meterhub.mjs'),
      'serve',
      '--port',
      '0',
      '--data',
      join(dir, 'data'),
      '--gateway',
      gatewayFile,
      '--log-level',
      'error',
      '--no-bootstrap-token',
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let listening = false;
  return new Promise((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (!listening && out.includes('METERHUB_LISTENING')) {
        listening = true;
        child.kill('SIGKILL'); // only whether it listens matters here
      }
    });
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.once('exit', (code) => resolve({ listening, code: listening ? null : code, out }));
  });
}

describe('serve with an in-process gateway', () => {
  it(
    'starts with a gateway config naming a bundled plugin dialect; an unknown name still refuses to start',
    async () => {
      const good = join(dir, 'chint.json');
      writeFileSync(good, JSON.stringify({ gatewayId: 'serve-profile', profile: 'chint' }));
      const started = await serve(good);
      expect(started.out).not.toMatch(/TELEMETRY_PROFILE_UNKNOWN/);
      expect(started.listening).toBe(true);

      const bad = join(dir, 'nope.json');
      writeFileSync(bad, JSON.stringify({ gatewayId: 'serve-profile', profile: 'nope' }));
      const refused = await serve(bad);
      expect(refused.listening).toBe(false);
      expect(refused.code).not.toBe(0);
      expect(refused.out).toMatch(/TELEMETRY_PROFILE_UNKNOWN/);
    },
    cliBudgetMs(4),
  );
});
