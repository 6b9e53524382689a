/**
 * A pair of connected pseudo-terminals made by socat (`socat -d -d pty,raw,echo=0,link=A pty,raw,echo=0,link=B`):
 * the gateway opens one end as its serial port, a simulator the other. Real serial ports, no mocks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PtyPair {
  /** The gateway's end. */
  gatewayPath: string;
  /** The simulator's end. */
  simPath: string;
  process: ChildProcess;
  close(): Promise<void>;
}

export async function openPtyPair(
  opts: { dir?: string; gatewayPath?: string; simPath?: string } = {},
): Promise<PtyPair> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'mh-pty-'));
  const gatewayPath = opts.gatewayPath ?? join(dir, 'gateway');
  const simPath = opts.simPath ?? join(dir, 'meters');
  const child = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${gatewayPath}`, `pty,raw,echo=0,link=${simPath}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (e) => reject(new Error(`socat: ${e.message} (apt-get install socat)`))),
  );
  const ready = (async () => {
    for (let i = 0; i < 200; i++) {
      if (stderr.includes('starting data transfer loop') && existsSync(gatewayPath) && existsSync(simPath)) return;
      if (child.exitCode !== null) throw new Error(`socat exited: ${stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`socat did not start: ${stderr}`);
  })();
  await Promise.race([ready, spawnError]);
  return {
    gatewayPath,
    simPath,
    process: child,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
