/**
 * Line noise on a meter bus: a relay between two socat pty pairs (gateway ⇄ relay ⇄ meters) that passes
 * bytes through untouched except during noise bursts. A burst models what reaches the UART on a disturbed
 * RS-485 line at 8E1: spurious characters (glitches, random values, stray 68H) and lost characters (parity or
 * framing errors, dropped by the UART). Towards the gateway — where a damaged reply could become a wrong
 * reading — both; towards the meters only lost characters: the simulated meters' decoder has no inter-byte
 * timeout (a real meter's UART has), so a stray 68H would make them deaf for a whole announced frame, which
 * tests the simulator rather than the gateway. Double-bit errors that pass the parity check are not modelled. The relay also decodes the clean meter → gateway stream: the ground truth of what each meter
 * really said, against which stored readings are checked.
 */
import { SerialPort } from 'serialport';
import { FrameStreamDecoder, frameToReading, isReadingFrame } from '../telemetry/index.ts';
import { openPtyPair, type PtyPair } from '../../gateways/sim/pty.ts';

export interface NoiseCounters {
  bursts: number;
  bytesDropped: number;
  bytesInserted: number;
  /** Clean reply frames that passed through a burst (each one reached the gateway damaged). */
  framesHit: number;
  cleanReplies: number;
}

export class NoiseRelay {
  readonly counters: NoiseCounters = { bursts: 0, bytesDropped: 0, bytesInserted: 0, framesHit: 0, cleanReplies: 0 };
  /** "meter|cumulative|meterTime" of every reply the meters really sent. */
  readonly truth = new Set<string>();
  private burstUntil = 0;
  private glitch: NodeJS.Timeout | null = null;
  private hitInFrame = false;
  private constructor(
    readonly gatewaySide: PtyPair, readonly meterSide: PtyPair,
    private readonly toGateway: SerialPort, private readonly toMeters: SerialPort,
    private readonly rand: () => number, profile: string,
  ) {
    const clean = new FrameStreamDecoder({
      profile,
      onFrame: (ev) => {
        if (!isReadingFrame(ev.frame)) return;
        const r = frameToReading(ev.frame, profile, { source: 'serial', raw: ev.raw });
        this.truth.add(`${r.meterId}|${r.cumulative}|${r.meterTime}`);
        this.counters.cleanReplies++;
        if (this.hitInFrame) this.counters.framesHit++;
        this.hitInFrame = false;
      },
    });
    // Meters → gateway: the clean bytes (the chunk as the meter sent it) feed the truth decoder.
    toMeters.on('data', (chunk: Buffer) => {
      this.forward(chunk, toGateway, true);
      clean.push(chunk);
    });
    toGateway.on('data', (chunk: Buffer) => this.forward(chunk, toMeters, false));
    toGateway.on('error', () => {});
    toMeters.on('error', () => {});
  }

  /** Opens the two pty pairs: the gateway opens `gatewayPath`, the simulated meters `meterPath`. */
  static async open(rand: () => number, profile = 'chint'): Promise<NoiseRelay> {
    const a = await openPtyPair();
    const b = await openPtyPair();
    const open = (path: string) => new Promise<SerialPort>((resolve, reject) => {
      const p = new SerialPort({ path, baudRate: 9600, autoOpen: false });
      p.open((e) => (e ? reject(e) : resolve(p)));
    });
    return new NoiseRelay(a, b, await open(a.simPath), await open(b.gatewayPath), rand, profile);
  }

  get gatewayPath(): string { return this.gatewaySide.gatewayPath; }
  get meterPath(): string { return this.meterSide.simPath; }

  private forward(chunk: Buffer, to: SerialPort, fromMeters: boolean): void {
    if (Date.now() >= this.burstUntil) {
      to.write(chunk);
      return;
    }
    const out: number[] = [];
    for (const byte of chunk) {
      const x = this.rand();
      if (x < 0.25) { this.counters.bytesDropped++; if (fromMeters) this.hitInFrame = true; continue; }
      out.push(byte);
      if (fromMeters && x > 0.8) { out.push(Math.floor(this.rand() * 256)); this.counters.bytesInserted++; if (fromMeters) this.hitInFrame = true; }
    }
    if (out.length) to.write(Buffer.from(out));
  }

  /** A burst of `ms`: damages passing bytes and sprays spurious characters towards the gateway. */
  burst(ms: number): Promise<void> {
    this.counters.bursts++;
    this.burstUntil = Date.now() + ms;
    const spray = () => {
      if (Date.now() >= this.burstUntil) { this.glitch = null; return; }
      const n = 1 + Math.floor(this.rand() * 4);
      const bytes = Buffer.from(Array.from({ length: n }, () => { const b = Math.floor(this.rand() * 256); return b; }));
      // Now and then a stray 68H: it announces a long frame that never comes.
      if (this.rand() < 0.3) bytes[0] = 0x68;
      this.toGateway.write(bytes);
      this.counters.bytesInserted += n;
      this.glitch = setTimeout(spray, 3 + Math.floor(this.rand() * 10));
    };
    spray();
    return new Promise((r) => setTimeout(r, ms));
  }

  async close(): Promise<void> {
    this.burstUntil = 0;
    if (this.glitch) clearTimeout(this.glitch);
    for (const p of [this.toGateway, this.toMeters]) if (p.isOpen) await new Promise<void>((r) => p.close(() => r()));
    await this.gatewaySide.close();
    await this.meterSide.close();
  }
}
