/**
 * Test harness for the real PC/SC path: makes sure a pcscd with Debian's vsmartcard-vpcd reader is running
 * (starting one, and later stopping exactly that one, when none is), and plugs emulated chips into its virtual
 * readers. Debian's /etc/reader.conf.d/vpcd declares "Virtual PCD" on port 0x8C7B (35963); vpcd serves two
 * slots, "Virtual PCD 00 00" on that port and "Virtual PCD 00 01" on the next: the card and the PSAM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { PcscContext, type PcscCard } from './pcsc-lite.ts';
import { type VirtualChip, VpcdCard } from './vpcd-card.ts';
import { CompanyCardRemoved, PcscUnavailable } from '../company-card-errors.ts';

export const VPCD_PORT = 0x8c7b;
export const CARD_READER = 'Virtual PCD 00 00';
export const SAM_READER = 'Virtual PCD 00 01';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function vpcdReaders(): string[] {
  try {
    const ctx = PcscContext.open();
    try {
      return ctx.listReaders();
    } finally {
      ctx.close();
    }
  } catch {
    return [];
  }
}

export class PcscdHarness {
  private child: ChildProcess | null = null;
  readonly ctx: { current: PcscContext | null } = { current: null };

  /** Uses the running pcscd if it has the vpcd readers, else starts `pcscd -f` and waits for them. */
  async start(): Promise<void> {
    if (!vpcdReaders().includes(CARD_READER)) {
      if (!existsSync('/etc/reader.conf.d/vpcd')) throw PcscUnavailable({ reason: 'vsmartcard-vpcd is not installed' });
      this.child = spawn('pcscd', ['-f'], { stdio: 'ignore' });
      for (let i = 0; i < 200 && !vpcdReaders().includes(CARD_READER); i++) await pause(50);
      if (!vpcdReaders().includes(CARD_READER)) throw PcscUnavailable({ reason: 'pcscd did not show the vpcd reader' });
    }
    this.ctx.current = PcscContext.open();
  }

  async stop(): Promise<void> {
    this.ctx.current?.close();
    this.ctx.current = null;
    const c = this.child;
    this.child = null;
    if (c && c.exitCode === null) {
      await new Promise<void>((resolve) => {
        // pcscd shuts its drivers down on SIGTERM; one that does not within 5 s is killed outright.
        const hard = setTimeout(() => c.kill('SIGKILL'), 5_000);
        c.once('exit', () => {
          clearTimeout(hard);
          resolve();
        });
        c.kill('SIGTERM');
      });
    }
  }

  /** Plugs a chip into a virtual reader slot (0 = card reader, 1 = PSAM reader). */
  async plug(chip: VirtualChip, slot: 0 | 1): Promise<VpcdCard> {
    const v = new VpcdCard(chip, VPCD_PORT + slot);
    await v.insert();
    return v;
  }

  /** Takes a chip out of its reader and waits until pcscd reports the slot empty. */
  async unplug(v: VpcdCard, reader: string): Promise<void> {
    await v.remove();
    await this.waitFor(reader, 'empty');
  }

  async waitFor(reader: string, want: 'present' | 'empty'): Promise<void> {
    const ctx = this.ctx.current;
    if (!ctx) throw PcscUnavailable({ reason: 'harness not started' });
    for (let i = 0; i < 400; i++) {
      if ((await ctx.cardState(reader)) === want) return;
      await pause(25);
    }
    throw PcscUnavailable({ reason: `reader never became ${want}` });
  }

  /**
   * Connects to the chip in `reader` once pcscd has seen it (vpcd is polled by pcscd, so a card plugged a
   * moment ago may not be reported yet): retries a bounded number of times on "no card".
   */
  async connect(reader: string): Promise<PcscCard> {
    const ctx = this.ctx.current;
    if (!ctx) throw PcscUnavailable({ reason: 'harness not started' });
    await this.waitFor(reader, 'present');
    for (let i = 0; ; i++) {
      try {
        return await ctx.connect(reader);
      } catch (e) {
        if (!CompanyCardRemoved.is(e) || i >= 200) throw e;
        await pause(25);
      }
    }
  }
}
