/**
 * Data validation for the six bundled maker plugins: manifests, return-code catalogues and tool-card
 * catalogues. The stand-in libraries are built to the card types and tool kinds fixed here, so a drift
 * between a catalogue and this table means a maker folder no longer describes its library.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CARD_TYPES, type CardType } from '../core/cards/card-types.ts';
import { TOOL_KINDS, isToolKindName } from '../core/cards/tool-kinds.ts';
import { loadManifest, validateManifest } from '../core/plugins/manifest.ts';
import type { PluginManifest, ReturnCodeEntry, ToolCardEntry } from '../core/plugins/plugin-types.ts';

const pluginsDir = dirname(fileURLToPath(import.meta.url));
const STAND_IN_SOURCE = "stand-in / 替身 — replace with the maker's document";

/** Fixed per maker: the stand-in libraries are built exactly this way (scripts/build-native.mjs, sdk/reference). */
const EXPECTED: Record<string, { cardTypes: CardType[]; tools: string[]; zh: string }> = {
  kingcard: { cardTypes: ['4442', '102'], tools: ['CLEAR', 'TRANSFER'], zh: '金卡' },
  zenner: { cardTypes: ['102'], tools: ['CLEAR', 'CHECK', 'SETUP'], zh: '上海真兰' },
  lanbaoshi: { cardTypes: ['4442'], tools: ['CLEAR', 'VALVE_OPEN', 'SETUP'], zh: '蓝宝石' },
  songchuan: { cardTypes: ['4442', '102'], tools: ['CLEAR', 'CHECK', 'CLOCK'], zh: '松川' },
  chint: { cardTypes: ['4442'], tools: ['CLEAR', 'CHECK', 'VALVE_OPEN', 'VALVE_CLOSE'], zh: '正泰' },
  tancy: { cardTypes: ['cpu'], tools: ['CLEAR', 'VALVE_OPEN', 'VALVE_CLOSE', 'CHECK', 'TRANSFER'], zh: '天信' },
};

const CJK = /[\u4e00-\u9fff]/;

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

describe('bundled maker plugins', () => {
  it('are exactly the six makers of the seed', () => {
    const found = readdirSync(pluginsDir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(pluginsDir, d.name, 'meterhub-plugin.json')))
      .map((d) => d.name)
      .sort();
    expect(found).toEqual(Object.keys(EXPECTED).sort());
  });
});

for (const [id, expected] of Object.entries(EXPECTED)) {
  describe(`plugin ${id}`, () => {
    const dir = join(pluginsDir, id);
    const manifestFile = join(dir, 'meterhub-plugin.json');
    const raw = readJson<PluginManifest>(manifestFile);

    it("passes the plugin host's own manifest validation and loads its catalogues", () => {
      expect(validateManifest(raw)).toEqual([]);
      const loaded = loadManifest(dir);
      expect(loaded.manifest.id).toBe(id);
      expect(loaded.returnCodes.length).toBeGreaterThanOrEqual(10);
      expect(loaded.toolCards.length).toBe(expected.tools.length);
    });

    it('has identity, fixed card types, stand-in flag, driver settings and rules', () => {
      expect(raw.id).toBe(id);
      expect(raw.name['zh-CN']).toBe(expected.zh);
      expect(raw.name.en).toMatch(/^[A-Za-z]/);
      expect(raw.cardTypes).toEqual(expected.cardTypes);
      for (const t of raw.cardTypes) expect(CARD_TYPES).toContain(t);
      expect(raw.standIn).toBe(true);
      expect(raw.driver?.callTimeoutMs).toBeGreaterThanOrEqual(1000);
      expect(typeof raw.rules?.requireEmptyCardBeforePurchase).toBe('boolean');
    });

    it('names a library for every platform, with the stand-in paths the native build uses', () => {
      expect(raw.library['linux-x64']).toBe(`lib/linux-x64/libgascard_${id}.so`);
      expect(raw.library['linux-arm64']).toBe(`lib/linux-arm64/libgascard_${id}.so`);
      expect(raw.library['darwin-arm64']).toBe(`lib/darwin-arm64/libgascard_${id}.dylib`);
      for (const win of ['win32-ia32', 'win32-x64']) {
        expect(raw.library[win], win).toMatch(new RegExp(`^lib/${win}/[A-Za-z0-9_.-]+\\.dll$`));
      }
      // Paths are relative and stay inside the plugin folder.
      for (const rel of Object.values(raw.library)) {
        expect(resolve(dir, rel).startsWith(dir + '/') || resolve(dir, rel).startsWith(dir + '\\')).toBe(true);
      }
    });

    it('points at catalogue files that exist', () => {
      expect(raw.catalogues).toEqual({
        returnCodes: 'catalogues/return-codes.json',
        toolCards: 'catalogues/tool-cards.json',
      });
      expect(existsSync(join(dir, 'catalogues/return-codes.json'))).toBe(true);
      expect(existsSync(join(dir, 'catalogues/tool-cards.json'))).toBe(true);
    });

    it('has a README that says what is stand-in', () => {
      const readme = readFileSync(join(dir, 'README.md'), 'utf8');
      expect(readme).toContain('替身');
      expect(readme).toContain('stand-in');
      expect(readme).toContain(raw.library['win32-ia32']!.split('/').pop()!);
    });

    describe('return codes', () => {
      const codes = readJson<ReturnCodeEntry[]>(join(dir, 'catalogues/return-codes.json'));

      it('every entry has zh, en and a source; stand-in entries are flagged both ways', () => {
        for (const e of codes) {
          expect(e.code, JSON.stringify(e)).toMatch(/^-?\d+$|^[A-Za-z][\w-]*$/);
          expect(e.zh.trim(), e.code).not.toBe('');
          expect(e.zh, e.code).toMatch(CJK);
          expect(e.en.trim(), e.code).not.toBe('');
          expect(e.source.trim(), e.code).not.toBe('');
          const saysStandIn = e.source.startsWith(STAND_IN_SOURCE);
          expect(e.standIn === true, `${id} code ${e.code}: standIn flag vs source`).toBe(saysStandIn);
        }
      });

      it('has no duplicate codes', () => {
        const seen = codes.map((e) => e.code);
        expect(new Set(seen).size).toBe(seen.length);
      });

      it('defines meter codes 0..9 (the stand-in writes lastCode 0..9), 0 meaning normal', () => {
        const byCode = new Map(codes.map((e) => [e.code, e]));
        for (let c = 0; c <= 9; c++) expect(byCode.has(String(c)), `${id} meter code ${c}`).toBe(true);
        expect(byCode.get('0')!.zh).toContain('正常');
        expect(byCode.get('0')!.en).toMatch(/normal/i);
      });

      it('carries the industry table −1…−18 and the interface codes −31…−35, never the host range −19…−30', () => {
        const nums = new Set(codes.map((e) => Number(e.code)));
        for (let c = -1; c >= -18; c--) expect(nums.has(c), `code ${c}`).toBe(true);
        for (let c = -31; c >= -35; c--) expect(nums.has(c), `code ${c}`).toBe(true);
        for (let c = -19; c >= -30; c--) expect(nums.has(c), `reserved code ${c}`).toBe(false);
        const industry = codes.find((e) => e.code === '-16')!;
        expect(industry.source).toContain('天然气销售系统IC卡接口规范 V1.0');
        expect(industry.standIn).toBeUndefined();
      });
    });

    describe('tool cards', () => {
      const tools = readJson<ToolCardEntry[]>(join(dir, 'catalogues/tool-cards.json'));

      it(`are exactly ${expected.tools.join(', ')}`, () => {
        expect(tools.map((t) => t.kind)).toEqual(expected.tools);
      });

      it("use valid kinds, the plugin's card types, zh/en labels and a source", () => {
        for (const t of tools) {
          expect(isToolKindName(t.kind), t.kind).toBe(true);
          expect(t.zh, t.kind).toMatch(CJK);
          expect(t.en.trim(), t.kind).not.toBe('');
          expect(t.source.trim(), t.kind).not.toBe('');
          expect(t.standIn === true, `${id} ${t.kind}: standIn flag vs source`).toBe(
            t.source.startsWith(STAND_IN_SOURCE),
          );
          expect(t.cardTypes.length, t.kind).toBeGreaterThan(0);
          for (const ct of t.cardTypes) expect(raw.cardTypes, `${t.kind} card type ${ct}`).toContain(ct);
        }
      });

      it('declare exactly the company-wide parameters of each standard kind, with zh/en labels', () => {
        for (const t of tools) {
          const std = TOOL_KINDS[t.kind as keyof typeof TOOL_KINDS];
          if (!std) continue;
          expect(
            (t.params ?? []).map((p) => p.name),
            t.kind,
          ).toEqual([...std.params]);
          for (const p of t.params ?? []) {
            expect(p.zh, `${t.kind}.${p.name}`).toMatch(CJK);
            expect(p.en.trim(), `${t.kind}.${p.name}`).not.toBe('');
          }
        }
      });
    });
  });
}
