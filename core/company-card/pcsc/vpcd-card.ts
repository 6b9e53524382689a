/**
 * Puts a card emulator into a real PC/SC stack: vsmartcard's vpcd is a pcscd reader driver that listens on a TCP
 * port, and this is the "virtual ICC" side that connects to it. Frames both ways are a 2-byte big-endian length
 * and a payload. A 1-byte payload from vpcd is a control: 00 power off, 01 power on, 02 reset, 04 get ATR
 * (answered with the ATR); anything longer is a command APDU, answered with the response APDU. Power-on/off and
 * reset get no answer.
 *
 * With this, tests reach the COS emulator through libpcsclite → pcscd → vpcd → TCP, not by a function call.
 */
import { type Socket, connect } from 'node:net';
import { quickAck } from './tcp-quickack.ts';

export interface VirtualChip {
  /** Power-on or warm reset: RAM cleared, ATR returned. */
  reset(): Buffer;
  transmit(apdu: Uint8Array): Buffer;
  readonly atr: Buffer;
}

export const VPCD_CONTROL = { powerOff: 0x00, powerOn: 0x01, reset: 0x02, getAtr: 0x04 } as const;

export class VpcdCard {
  private socket: Socket | null = null;
  private buffer = Buffer.alloc(0);
  /** Control messages and APDUs seen, for tests that follow what the reader did. */
  readonly events: string[] = [];

  constructor(
    private readonly chip: VirtualChip,
    private readonly port: number,
    private readonly host = '127.0.0.1',
  ) {}

  /** Connects (the card is "inserted"); resolves once the TCP connection is up. */
  insert(): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = connect({ port: this.port, host: this.host });
      s.setNoDelay(true);
      s.once('connect', () => resolve());
      s.once('error', reject);
      s.on('data', (d: Buffer) => this.onData(d));
      this.socket = s;
    });
  }

  /** Disconnects (the card is "removed"); vpcd reports the slot empty. */
  remove(): Promise<void> {
    const s = this.socket;
    this.socket = null;
    this.buffer = Buffer.alloc(0);
    if (!s) return Promise.resolve();
    return new Promise((resolve) => {
      s.once('close', () => resolve());
      s.destroy();
    });
  }

  private onData(d: Buffer): void {
    if (this.socket) quickAck(this.socket);
    this.buffer = Buffer.concat([this.buffer, d]);
    while (this.buffer.length >= 2) {
      const len = this.buffer.readUInt16BE(0);
      if (this.buffer.length < 2 + len) return;
      const msg = this.buffer.subarray(2, 2 + len);
      this.buffer = this.buffer.subarray(2 + len);
      this.handle(Buffer.from(msg));
    }
  }

  private handle(msg: Buffer): void {
    if (msg.length === 1) {
      const c = msg[0];
      this.events.push(`ctl:${c}`);
      if (c === VPCD_CONTROL.powerOn || c === VPCD_CONTROL.reset) this.chip.reset();
      if (c === VPCD_CONTROL.getAtr) this.send(this.chip.atr);
      return;
    }
    this.events.push('apdu');
    let r: Buffer;
    try {
      r = this.chip.transmit(msg);
    } catch {
      // The emulated chip left mid-command (a fault the test injected): the reader sees the card go.
      void this.remove();
      return;
    }
    this.send(r);
  }

  private send(payload: Buffer): void {
    const head = Buffer.alloc(2);
    head.writeUInt16BE(payload.length);
    this.socket?.write(Buffer.concat([head, payload]));
  }
}
