/**
 * The contract every maker plugin must meet, run against each plugin (MQTT.js abstract-store style):
 * `pluginContract(id, setup)` registers the same tests for any plugin id a PluginHost can load.
 */
import { describe, expect, it } from 'vitest';
import type { CardType, MemoryCardType } from '../../core/cards/card-types.ts';
import { isToolKindName } from '../../core/cards/tool-kinds.ts';
import { coreFunctionsFor } from '../../core/driver/interface-functions.ts';
import type { PluginHost } from '../../core/plugins/plugin-types.ts';

export interface ContractContext {
  host: PluginHost;
  /** CPU cards: put a blank card into the simulated reader at `com` before the test. */
  insertBlankCpuCard?: (com: number) => void;
}

const KH = '6101234567';

export function pluginContract(id: string, ctx: () => ContractContext): void {
  describe(`plugin contract: ${id}`, () => {
    it('has a valid manifest, its catalogues and its library for this platform', () => {
      const { host } = ctx();
      const st = host.get(id)!;
      expect(st).toBeDefined();
      expect(st.name['zh-CN'].length).toBeGreaterThan(0);
      expect(st.libraryFound).toBe(true);
      expect(host.returnCodes(id).some((c) => c.code === '0')).toBe(true);
      for (const t of host.toolCards(id)) expect(isToolKindName(t.kind)).toBe(true);
    });

    it('its driver exports every core function of every card type it declares', async () => {
      const { host } = ctx();
      const info = await host.driver(id).info();
      for (const t of host.get(id)!.cardTypes) {
        for (const f of coreFunctionsFor(t)) expect(info.functions).toContain(f.name);
      }
    });

    it('lists exactly the tool cards its catalogue declares', async () => {
      const { host } = ctx();
      for (const t of host.get(id)!.cardTypes) {
        const listed = await host.driver(id).listTools(t);
        const catalogued = host
          .toolCards(id)
          .filter((c) => c.cardTypes.includes(t))
          .map((c) => c.kind)
          .sort();
        expect(listed.kinds.slice().sort()).toEqual(catalogued);
      }
    });

    for (const cardType of ['4442', '102'] as MemoryCardType[]) {
      it(`memory card life on ${cardType}: issue, identify, read, buy, refund, format (when supported)`, async () => {
        const { host } = ctx();
        if (!host.get(id)!.cardTypes.includes(cardType)) {
          // Unsupported either way: the library answers GC_E_UNSUPPORTED (-34) or does not export the function.
          const r = await host
            .driver(id)
            .writeNew(cardType, { cardNo: KH, gas: 1, count: 1, meterKind: 1 })
            .catch((e: { code: string }) => e);
          expect('rc' in r ? r.rc : r.code).toSatisfy((v: unknown) => v === -34 || v === 'FUNCTION_MISSING');
          return;
        }
        const d = host.driver(id);
        const issued = await d.writeNew(cardType, { cardNo: KH, gas: 12, count: 1, meterKind: 2 });
        expect(issued.rc).toBe(0);
        expect(issued.newKey).not.toBe(issued.oldKey);

        const who = await host.identify(cardType, issued.data);
        expect(who).toMatchObject({ maker: id, kind: 'user' });

        await expect(d.read(cardType, issued.data)).resolves.toMatchObject({
          rc: 0,
          cardNo: KH,
          gas: 12,
          count: 1,
          meterKind: 2,
        });
        const bought = await d.buy(cardType, { source: issued.data, cardNo: KH, gas: 40, count: 2 });
        await expect(d.read(cardType, bought.data)).resolves.toMatchObject({ rc: 0, gas: 40, count: 2 });
        const refunded = await d.buy(cardType, { source: bought.data, cardNo: KH, gas: 0, count: 3 });
        await expect(d.read(cardType, refunded.data)).resolves.toMatchObject({ rc: 0, gas: 0, count: 3 });

        const usage = await d.readUsage(cardType, refunded.data);
        expect(usage).toMatchObject({ rc: 0, written: false });

        const formatted = await d.format(cardType, refunded.data);
        expect(formatted.rc).toBe(0);
        expect(formatted.oldKey).toBe(bought.newKey);
      });
    }

    it('claims its own tool cards as tool cards', async () => {
      const { host } = ctx();
      for (const t of host.get(id)!.cardTypes.filter((x): x is MemoryCardType => x !== 'cpu')) {
        const blank =
          t === '4442'
            ? 'A2131091FFFF8115' + 'FF'.repeat(248)
            : '0F0F' + 'FF'.repeat(8) + 'F0F0FFFF' + 'FF'.repeat(136);
        const kind = host.toolCards(id).find((c) => c.cardTypes.includes(t) && c.kind === 'CLEAR')!.kind;
        const made = await host.driver(id).makeTool(t, { kind, params: {}, source: blank });
        expect(made.rc).toBe(0);
        await expect(host.identify(t, made.data)).resolves.toMatchObject({ maker: id, kind: 'tool' });
      }
    });

    it('CPU card life through the library driving the reader (when supported)', async () => {
      const { host, insertBlankCpuCard } = ctx();
      if (!host.get(id)!.cardTypes.includes('cpu' as CardType))
        return expect(host.get(id)!.cardTypes).not.toContain('cpu');
      const com = 3;
      insertBlankCpuCard!(com);
      const d = host.driver(id);
      await expect(host.identify('cpu', String(com))).rejects.toMatchObject({ code: 'CARD_UNKNOWN' });
      expect((await d.cpu.writeNew({ com, cardNo: KH, gas: 30, count: 1, meterKind: 2 })).rc).toBe(0);
      await expect(host.identify('cpu', String(com))).resolves.toMatchObject({ maker: id, kind: 'user' });
      expect((await d.cpu.buy({ com, cardNo: KH, gas: 50, count: 2 })).rc).toBe(0);
      await expect(d.read('cpu', { com })).resolves.toMatchObject({
        rc: 0,
        cardNo: KH,
        gas: 50,
        count: 2,
        meterKind: 2,
      });
      expect((await d.cpu.format({ com, cardNo: KH })).rc).toBe(0);
    });
  });
}
