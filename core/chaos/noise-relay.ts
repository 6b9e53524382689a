/**
 * Line noise on a meter bus (one socat pty pair: gateway ⇄ simulated meters). The injector sits on the
 * meters' transmit side: it sees every reply byte as the meter sent it (the ground truth of what each meter
 * really said) and, during a burst, damages what goes on the wire the way a disturbed RS-485 line at 8E1
 * reaches the gateway's UART: characters lost (parity or framing errors, dropped by the UART), spurious
 * characters inserted (random values, now and then a stray 68H announcing a frame that never comes), also
 * on an idle line. Requests towards the meters are not disturbed, and double-bit errors that pass the parity
 * check are not modelled.
 *
 * (A relay through a second pty pair was tried first: socat-chained ptys stalled the meters' replies for
 * seconds at a time, which tested the rig rather than the gateway.)
 */
import {
  FrameStreamDecoder,
  frameToReading,
  isReadingFrame,
  readingRefusal,
  type DialectProfile,
} from '../telemetry/index.ts';
import type { BusSimulator } from '../../gateways/sim/bus-simulator.ts';

export interface NoiseCounters {
  bursts: number;
  bytesDropped: number;
  bytesInserted: number;
  /** Replies that were on the wire during a burst (each one reached the gateway damaged). */
  framesHit: number;
  cleanReplies: number;
}

type Write = (data: Buffer | Uint8Array, ...rest: unknown[]) => boolean;

export class NoiseInjector {
  readonly counters: NoiseCounters = { bursts: 0, bytesDropped: 0, bytesInserted: 0, framesHit: 0, cleanReplies: 0 };
  /** "meter|cumulative|meterTime" of every reply the meters really sent. */
  readonly truth = new Set<string>();
  private burstUntil = 0;
  private glitch: NodeJS.Timeout | null = null;
  private hitInFrame = false;
  private readonly wire: Write;

  constructor(
    sim: BusSimulator,
    private readonly rand: () => number,
    profile: DialectProfile,
  ) {
    const clean = new FrameStreamDecoder({
      profile,
      onFrame: (ev) => {
        if (!isReadingFrame(ev.frame) || readingRefusal(ev.frame, profile)) return;
        const r = frameToReading(ev.frame, profile, { source: 'serial', raw: ev.raw });
        this.truth.add(`${r.meterId}|${r.cumulative}|${r.meterTime}`);
        this.counters.cleanReplies++;
        if (this.hitInFrame) this.counters.framesHit++;
        this.hitInFrame = false;
      },
    });
    const port = sim.port as unknown as { write: Write };
    this.wire = port.write.bind(sim.port) as Write;
    port.write = (data, ...rest) => {
      const bytes = Buffer.from(data);
      const out = this.damage(bytes);
      clean.push(bytes);
      return this.wire(out, ...rest);
    };
  }

  private damage(chunk: Buffer): Buffer {
    if (Date.now() >= this.burstUntil) return chunk;
    const out: number[] = [];
    for (const byte of chunk) {
      const x = this.rand();
      if (x < 0.25) {
        this.counters.bytesDropped++;
        this.hitInFrame = true;
        continue;
      }
      out.push(byte);
      if (x > 0.8) {
        out.push(Math.floor(this.rand() * 256));
        this.counters.bytesInserted++;
        this.hitInFrame = true;
      }
    }
    return Buffer.from(out);
  }

  /** A burst of `ms`: damages reply bytes on the wire and sprays spurious characters on the line. */
  burst(ms: number): Promise<void> {
    this.counters.bursts++;
    this.burstUntil = Date.now() + ms;
    const spray = () => {
      if (Date.now() >= this.burstUntil) {
        this.glitch = null;
        return;
      }
      const n = 1 + Math.floor(this.rand() * 4);
      const bytes = Buffer.from(Array.from({ length: n }, () => Math.floor(this.rand() * 256)));
      if (this.rand() < 0.3) bytes[0] = 0x68;
      this.wire(bytes);
      this.counters.bytesInserted += n;
      this.glitch = setTimeout(spray, 3 + Math.floor(this.rand() * 10));
    };
    spray();
    return new Promise((r) => setTimeout(r, ms));
  }

  stop(): void {
    this.burstUntil = 0;
    if (this.glitch) clearTimeout(this.glitch);
    this.glitch = null;
  }
}
