/**
 * A toy ISO 7816-4 card for the sim's CPU and PSAM slots: enough to test ATR and APDU plumbing, not a COS.
 * SELECT (00 A4) answers 90 00, GET CHALLENGE (00 84 00 00 Le) answers Le random bytes + 90 00,
 * anything else 6D 00 (instruction not supported).
 */
import { randomBytes } from 'node:crypto';
import { fromHex } from '../../chips/hex.ts';

export const SIM_CPU_ATR = '3B6900FF4A43425420434F53';

export class SimCpuCard {
  readonly atr: Uint8Array;
  constructor(atrHex: string = SIM_CPU_ATR) {
    this.atr = fromHex(atrHex);
  }

  apdu(cmd: Uint8Array): Uint8Array {
    if (cmd.length < 4) return Uint8Array.of(0x67, 0x00);
    const [cla, ins] = [cmd[0], cmd[1]];
    if (cla === 0x00 && ins === 0xa4) return Uint8Array.of(0x90, 0x00);
    if (cla === 0x00 && ins === 0x84 && cmd.length === 5) {
      const le = cmd[4] || 256;
      return Uint8Array.from([...randomBytes(le), 0x90, 0x00]);
    }
    return Uint8Array.of(0x6d, 0x00);
  }
}
