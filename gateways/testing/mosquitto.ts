/**
 * A private Mosquitto for tests and benchmarks that must cut the broker: own port, own config, own
 * persistence directory, so it can be killed and restarted without touching the shared 127.0.0.1:1883.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ host: '127.0.0.1', port });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

export interface MosquittoOptions {
  persistence?: boolean;
  /** In-flight QoS 1 messages per client (mosquitto default 20). */
  maxInflight?: number;
  maxQueued?: number;
}

export class PrivateMosquitto {
  readonly dir: string;
  readonly conf: string;
  private proc: ChildProcess | null = null;
  log = '';
  starts = 0;

  private constructor(
    readonly port: number,
    opts: MosquittoOptions,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'mh-mosq-'));
    // Started as root, mosquitto drops to user "mosquitto": it must be able to write its persistence file.
    chmodSync(this.dir, 0o777);
    this.conf = join(this.dir, 'mosquitto.conf');
    writeFileSync(
      this.conf,
      [
        `listener ${port} 127.0.0.1`,
        'allow_anonymous true',
        `persistence ${opts.persistence === false ? 'false' : 'true'}`,
        `persistence_location ${this.dir}/`,
        'autosave_interval 1',
        `max_inflight_messages ${opts.maxInflight ?? 100}`,
        `max_queued_messages ${opts.maxQueued ?? 1000000}`,
        'log_type error',
        '',
      ].join('\n'),
    );
  }

  static async start(opts: MosquittoOptions = {}): Promise<PrivateMosquitto> {
    const m = new PrivateMosquitto(await freePort(), opts);
    await m.start();
    return m;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const p = spawn('mosquitto', ['-c', this.conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout?.on('data', (d) => {
      this.log += d;
    });
    p.stderr?.on('data', (d) => {
      this.log += d;
    });
    this.proc = p;
    this.starts++;
    for (let i = 0; i < 200; i++) {
      if (await portOpen(this.port)) return;
      if (p.exitCode !== null) throw new Error(`mosquitto exited: ${this.log}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`mosquitto did not listen on ${this.port}: ${this.log}`);
  }

  /** SIGTERM: mosquitto writes its persistence file on the way out. SIGKILL: it does not. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill(signal);
    });
    this.proc = null;
  }

  async restart(signal: NodeJS.Signals = 'SIGTERM', downMs = 500): Promise<void> {
    await this.stop(signal);
    await new Promise((r) => setTimeout(r, downMs));
    await this.start();
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
