/**
 * The CLI loads only the command it runs: `meterhub serve` must not carry chaos, bench, simulator or test code
 * into production (issue 15), and a command starts faster on the slow days of these machines (issue 17).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliBudgetMs } from '../testing/work-budget.ts';
import { BUILD_DIR, bundleIndex } from '../util/bundle-index.mjs';
import { commandNamed, type CommandModule } from './main.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const COMMANDS = join(import.meta.dirname, 'commands');
/** Modules that exist for tests, benchmarks, chaos runs and simulators, never for serving. */
const NOT_FOR_PRODUCTION =
  /\/core\/(chaos|testing)\/|\/bench\/|\/gateways\/(sim|testing)\/|\/test\/|\.test\.ts$|simulat/;

/** Starts `meterhub <args>` with the module trace hook until it prints `until`, then stops it. */
async function modulesLoadedBy(args: string[], until: RegExp): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'mh-cli-trace-'));
  const trace = join(dir, 'modules.txt');
  try {
    const child = spawn(
      process.execPath,
      [
        '--import',
        join(ROOT, 'core/testing/module-trace.mjs'),
        join(ROOT, 'bin/meterhub.mjs'),
        ...args.map((a) => a.replace('$DIR', dir)),
      ],
      { cwd: ROOT, env: { ...process.env, MODULE_TRACE: trace }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const seen = (d: Buffer) => {
        out += String(d);
        if (until.test(out)) resolve();
      };
      child.stdout.on('data', seen);
      child.stderr.on('data', (d: Buffer) => {
        out += String(d);
      });
      child.once('exit', (code) =>
        until.test(out) ? resolve() : reject(new Error(`exited ${code}: ${out.slice(-1500)}`)),
      );
    });
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));
    return readFileSync(trace, 'utf8')
      .split('\n')
      .filter((u) => u && !u.includes('/node_modules/'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

beforeAll(() => {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts/build-host.mjs')], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
});

describe('meterhub CLI loads only the command it runs', () => {
  it('every command module registers exactly the command named after its file', async () => {
    const files = readdirSync(COMMANDS).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const program = new Command('meterhub');
      ((await import(pathToFileURL(join(COMMANDS, f)).href)) as CommandModule).register(program);
      expect(
        program.commands.map((c) => c.name()),
        f,
      ).toEqual([basename(f, '.ts')]);
    }
  });

  it('names the command by the first bare word', () => {
    expect(commandNamed(['node', 'meterhub', 'serve', '--port', '0'])).toBe('serve');
    expect(commandNamed(['node', 'meterhub', '--help'])).toBeUndefined();
    expect(commandNamed(['node', 'meterhub', 'plugins', 'list'])).toBe('plugins');
  });

  it(
    '`meterhub serve` loads no chaos, bench, simulator or test module',
    async () => {
      const loaded = await modulesLoadedBy(
        ['serve', '--port', '0', '--data', '$DIR', '--log-level', 'error', '--no-bootstrap-token'],
        /METERHUB_LISTENING/,
      );
      // `serve` runs its bundle (scripts/build-host.mjs, issue 17): what it carries is every source the bundle
      // was built from (its gateway chunk included), and the trace shows the bundle ran and nothing else of ours.
      const bundle = bundleIndex(join(BUILD_DIR, 'server'));
      expect(bundle?.fresh).toBe(true);
      expect(loaded.some((u) => u.endsWith('/build/server/serve.mjs'))).toBe(true);
      const sources = [...loaded, ...bundle!.index.inputs.map((f) => pathToFileURL(join(ROOT, f)).href)];
      // The list is real: the server's own modules are in it.
      expect(sources.some((u) => u.endsWith('/core/server/server.ts'))).toBe(true);
      expect(sources.filter((u) => NOT_FOR_PRODUCTION.test(u))).toEqual([]);
      expect(sources.filter((u) => u.includes('/core/cli/commands/')).map((u) => basename(u))).toEqual(['serve.ts']);
    },
    cliBudgetMs(8),
  ); // the server and its driver hosts
});
