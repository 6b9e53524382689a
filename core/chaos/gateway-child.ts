/**
 * A real `meterhub gateway run` child process, as ops would run it: started, SIGKILLed, restarted on the
 * same config and database. Resolves once the gateway logs that it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './serve-child.ts';

export interface GatewayChild {
  child: ChildProcess;
  /** Resolves with the signal, or the exit code, once the process is gone. */
  exited: Promise<NodeJS.Signals | number | null>;
  output(): string;
}

export function startGateway(config: string): Promise<GatewayChild> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'meterhub.mjs'), 'gateway', 'run', '--config', config], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<NodeJS.Signals | number | null>((r) => child.once('exit', (code, sig) => r(sig ?? code)));
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  return new Promise((resolve, reject) => {
    const t = setInterval(() => {
      if (out.includes('"event":"started"')) {
        clearInterval(t);
        resolve({ child, exited, output: () => out });
      }
      if (child.exitCode !== null) {
        clearInterval(t);
        reject(new Error(`gateway exited: ${out.slice(-1500)}`));
      }
    }, 20);
  });
}
