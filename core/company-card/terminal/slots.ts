/**
 * In-process slots that put an emulated chip behind the ApduChannel a terminal uses. The real path (PC/SC,
 * Mingwah) gives the terminal another ApduChannel; nothing above this file knows which one it has.
 */
import { type ApduChannel } from '../apdu.ts';
import { CompanyCardPsamMissing, CompanyCardRemoved } from '../company-card-errors.ts';

interface Chip {
  transmit(apdu: Uint8Array): Buffer;
  readonly isPresent: boolean;
}

export class CardSlot implements ApduChannel {
  constructor(readonly chip: Chip) {}
  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    if (!this.chip.isPresent) throw CompanyCardRemoved();
    try {
      return this.chip.transmit(apdu);
    } catch (e) {
      if (!this.chip.isPresent) throw CompanyCardRemoved();
      throw e;
    }
  }
}

export class SamSlot implements ApduChannel {
  constructor(readonly chip: Chip) {}
  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    if (!this.chip.isPresent) throw CompanyCardPsamMissing();
    try {
      return this.chip.transmit(apdu);
    } catch (e) {
      if (!this.chip.isPresent) throw CompanyCardPsamMissing();
      throw e;
    }
  }
}
