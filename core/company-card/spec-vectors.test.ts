/**
 * The spec's published vectors (sdk/company-cpu-card.zh-CN.md §12) are exactly what the code computes, and
 * the APDUs among them are accepted by the card emulator when it is given the same challenges.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { command, exchange, SW } from './apdu.ts';
import { FILES, GAS_AID, GAS_DF_FID } from './records.ts';
import { VECTOR_CARD, vectorBlock } from './spec-vectors.ts';
import { CardSlot } from './terminal/slots.ts';
import { blankCard, world } from './testing/fixtures.ts';

const SPEC = new URL('../../sdk/company-cpu-card.zh-CN.md', import.meta.url);

function specVectors(): Map<string, string> {
  const text = readFileSync(SPEC, 'utf8');
  const m = /<!-- vectors:begin -->\n```\n([\s\S]*?)\n```\n<!-- vectors:end -->/.exec(text);
  if (!m?.[1]) throw new Error('vector block not found in the spec');
  return new Map(m[1].split('\n').map((l) => l.split(' = ') as [string, string]));
}

describe('spec test vectors', () => {
  it('the spec prints exactly the vectors the code computes', () => {
    const generated = new Map(
      vectorBlock()
        .split('\n')
        .map((l) => l.split(' = ') as [string, string]),
    );
    expect(generated.size).toBe(80); // 40 per algorithm
    expect(Object.fromEntries(specVectors())).toEqual(Object.fromEntries(generated));
  });

  for (const alg of ['sm4', '3des'] as const) {
    it(`${alg}: a card issued by the counter answers the spec's APDUs as printed`, async () => {
      const v = specVectors();
      const get = (name: string) => Buffer.from(v.get(`${alg.toUpperCase()}.${name}`) ?? 'ZZ', 'hex');
      const w = world(alg);
      const card = blankCard(VECTOR_CARD.serial, alg);
      await w.counterFor(card).issue({
        cardNo: VECTOR_CARD.cardNo,
        companyCode: '0571',
        meterKind: 1,
        issueDate: '20261203',
        keyVersion: 1,
        algorithm: alg,
        gas: 1,
        count: 1,
        date: '20261203080000',
      });
      expect(card.peek(GAS_DF_FID, FILES.cardInfo.fid)).toEqual(get('cardinfo'));
      const slot = new CardSlot(card);
      card.reset();
      expect((await exchange(slot, command(0x00, 0xa4, 0x04, 0x00, GAS_AID))).sw).toBe(SW.OK);
      const nextChallenge = (hex: string) => {
        card.random = () => Buffer.from(hex, 'hex');
      };
      // internal authentication answer
      const ia = await exchange(slot, command(0x00, 0x88, 0x00, 0x03, get('intauth.challenge'), 0x00));
      expect(ia).toEqual({ sw: SW.OK, data: get('intauth.answer') });
      // external authentication with the printed cryptogram
      nextChallenge('1122334455667788');
      expect((await exchange(slot, command(0x00, 0x84, 0x00, 0x00, undefined, 8))).data).toEqual(
        get('extauth.challenge'),
      );
      expect((await exchange(slot, command(0x00, 0x82, 0x00, 0x02, get('extauth.cryptogram')))).sw).toBe(SW.OK);
      // the printed secure-messaging UPDATE of the purchase file
      nextChallenge('0A0B0C0D');
      await exchange(slot, command(0x00, 0x84, 0x00, 0x00, undefined, 4));
      expect((await exchange(slot, get('sm.apdu'))).sw).toBe(SW.OK);
      expect(card.peek(GAS_DF_FID, FILES.purchase.fid)).toEqual(get('purchase.record'));
      // the printed WRITE KEY of key 02 (the same key again) is accepted: MAC and decryption check out
      await exchange(slot, command(0x00, 0x84, 0x00, 0x00, undefined, 4));
      expect((await exchange(slot, get('writekey.apdu'))).sw).toBe(SW.OK);
      // and a vector with one bit flipped is not
      const bad = get('writekey.apdu');
      bad[8] = (bad[8] ?? 0) ^ 0x01;
      await exchange(slot, command(0x00, 0x84, 0x00, 0x00, undefined, 4));
      expect((await exchange(slot, bad)).sw).toBe(SW.SM_MAC_WRONG);
    });
  }
});
