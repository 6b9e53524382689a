/**
 * No stand-in recognises another maker's card, a blank card or random data (seed §3: makers' Check must not clash).
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { blankCards, GC, MAKERS, StandIn, TOOL_PARAMS, ensureBuilt, randomHex, type MemType } from './test-support.ts';

const libs = new Map<string, StandIn>();
beforeAll(() => {
  ensureBuilt();
  for (const m of MAKERS) libs.set(m.maker, new StandIn(m.maker));
});

const pub = (t: MemType, data: string): string => (t === '102' ? data.slice(0, 44) : data);
const makersFor = (t: MemType) => MAKERS.filter((m) => m.cardTypes.includes(t));
const pairs = (['4442', '102'] as const).flatMap((t) =>
  makersFor(t).flatMap((owner) =>
    makersFor(t)
      .filter((o) => o.maker !== owner.maker)
      .map((other) => ({ t, owner: owner.maker, other: other.maker, ownerTools: owner.toolKinds })),
  ),
);

describe('cross-maker matrix', () => {
  test('every memory card type has at least two makers to cross-check', () => {
    expect(makersFor('4442').length).toBeGreaterThanOrEqual(2);
    expect(makersFor('102').length).toBeGreaterThanOrEqual(2);
    expect(pairs.length).toBe(4 * 3 + 3 * 2);
  });

  test.each(pairs)(
    '$other does not recognise $owner $t cards (user and every tool kind)',
    ({ t, owner, other, ownerTools }) => {
      const o = libs.get(owner)!,
        x = libs.get(other)!;
      const cards = ['3701020025', '1', '0000000000000000', '98765432109876543210987654321098'].map(
        (kh) => o.writeNew(t, kh, 123, 4, 2).data,
      );
      cards.push(o.buy(t, cards[0]!, '3701020025', 55, 5).data);
      for (const kind of ownerTools) cards.push(o.makeTool(t, kind, TOOL_PARAMS[kind]!, blankCards(t).allFF).data);
      for (const card of cards) {
        expect(o.check(t, pub(t, card)).rc).toBeGreaterThanOrEqual(0); // sanity: the owner does
        const c = x.check(t, pub(t, card));
        expect(c.rc).toBe(GC.NOT_OURS);
        expect(c.oldKey).toBe('');
        expect(x.read(t, card).rc).toBe(GC.NOT_THIS_SYSTEM);
        expect(x.buy(t, card, '3701020025', 1, 9).rc).toBe(GC.NOT_THIS_SYSTEM);
        expect(x.format(t, card).rc).toBe(GC.NOT_THIS_SYSTEM);
        expect(x.makeTool(t, 'CLEAR', '', card).rc).toBe(GC.NOT_THIS_SYSTEM);
      }
    },
  );

  test.each(
    MAKERS.flatMap((m) => m.cardTypes.filter((t): t is MemType => t !== 'cpu').map((t) => ({ maker: m.maker, t }))),
  )('$maker rejects blank and random $t cards', ({ maker, t }) => {
    const s = libs.get(maker)!;
    for (const blank of Object.values(blankCards(t))) expect(s.check(t, pub(t, blank)).rc).toBe(GC.NOT_OURS);
    const len = t === '4442' ? 512 : 44;
    for (let seed = 1; seed <= 2000; seed++) {
      const r = s.check(t, randomHex(len, seed * 7919));
      if (r.rc !== GC.NOT_OURS) throw new Error(`seed ${seed} was recognised (${r.rc})`);
    }
  });
});
