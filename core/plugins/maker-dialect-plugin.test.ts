/**
 * Must-show of issue 15 item 7: a maker folder OUTSIDE the repo, on METERHUB_PLUGIN_PATH, brings its own dialect
 * profile in its manifest; the real `meterhub telemetry decode --profile <it>` uses it once ops enable the plugin
 * (`meterhub plugins enable`), and refuses it with a bilingual error while the plugin is disabled.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { buildReadReply, toHex, validateProfile } from '../telemetry/index.ts';
import { cliBudgetMs, cliTimeoutMs } from '../testing/work-budget.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const makers = mkdtempSync(join(tmpdir(), 'mh-maker-dialect-'));
const dataDir = mkdtempSync(join(tmpdir(), 'mh-maker-dialect-data-'));
afterAll(() => {
  rmSync(makers, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

/** A dialect no bundled plugin has: big-endian DI and clock, 3×FE, a private tamper bit. */
const acme = validateProfile({
  name: 'acme-be',
  maker: 'acme-gas',
  diOrder: 'be',
  clockOrder: 'be',
  preamble: 3,
  errorReply: 'st',
  statusBits: [{ byte: 1, bit: 5, code: 'ACME_TAMPER', zh: '外壳被打开', en: 'Case opened' }],
  source: 'test maker document',
});
const frame = buildReadReply(
  '20250000000042',
  0x901f,
  3,
  {
    cumulative: '42.50',
    settlement: '40.00',
    meterTime: '2025-03-04T05:06:07',
    status: { valve: 'open', alarms: ['ACME_TAMPER'] },
  },
  acme,
);
const hex = toHex(frame, ' ');

const pluginDir = join(makers, 'acme-gas');
mkdirSync(join(pluginDir, 'telemetry'), { recursive: true });
writeFileSync(join(pluginDir, 'telemetry', 'acme-be.profile.json'), JSON.stringify(acme, null, 2));
writeFileSync(
  join(pluginDir, 'meterhub-plugin.json'),
  JSON.stringify(
    {
      id: 'acme-gas',
      name: { 'zh-CN': '测试表厂', en: 'Acme Gas' },
      cardTypes: ['4442'],
      library: { 'linux-x64': 'lib/libacme.so' },
      catalogues: { returnCodes: [], toolCards: [] },
      telemetry: {
        profiles: ['telemetry/acme-be.profile.json'],
        testVectors: [{ name: 'tamper', profile: 'acme-be', hex, expect: { reading: { cumulative: '42.50' } } }],
      },
    },
    null,
    2,
  ),
);

const env = { ...process.env, METERHUB_PLUGIN_PATH: makers };
const meterhub = (...args: string[]) => {
  const r = spawnSync(process.execPath, [join(root, 'bin/meterhub.mjs'), ...args], {
    cwd: root,
    env,
    encoding: 'utf8',
    timeout: cliTimeoutMs(),
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const decode = (...extra: string[]) =>
  meterhub('telemetry', 'decode', hex, '--profile', 'acme-be', '--data', dataDir, ...extra);

describe('a maker folder outside the repo brings its own dialect', () => {
  it(
    'is refused while the plugin is disabled, decoded once enabled, refused again once disabled',
    () => {
      // A plugin added on METERHUB_PLUGIN_PATH starts disabled until ops enable it.
      const off = decode();
      expect(off.code).toBe(2);
      expect(off.err).toContain('TELEMETRY_PROFILE_DISABLED');
      expect(off.err).toContain('该方言由已停用的表厂插件提供');
      expect(off.err).toContain('meterhub plugins enable acme-gas');
      expect(off.err).toMatch(/disabled maker plugin/);

      expect(meterhub('plugins', 'enable', 'acme-gas', '--data', dataDir).code).toBe(0);
      const on = decode('--json');
      expect(on.code, on.err).toBe(0);
      const j = JSON.parse(on.out);
      expect(j.profile).toBe('acme-be');
      expect(j.frame).toMatchObject({ address: '20250000000042', di: '901F', ser: 3 });
      expect(j.reading).toMatchObject({
        maker: 'acme-gas',
        cumulative: '42.50',
        settlement: '40.00',
        meterTime: '2025-03-04T05:06:07',
        status: {
          valve: 'open',
          alarms: [{ code: 'ACME_TAMPER', zh: '外壳被打开', en: 'Case opened', kind: 'meter' }],
        },
      });
      const listed = JSON.parse(meterhub('telemetry', 'profiles', '--json', '--data', dataDir).out) as Array<{
        name: string;
      }>;
      expect(listed.map((p) => p.name)).toEqual(['acme-be', 'be', 'chint', 'cjt188-company', 'le']);

      expect(meterhub('plugins', 'disable', 'acme-gas', '--data', dataDir).code).toBe(0);
      const again = decode('--json');
      expect(again.code).toBe(2);
      expect(JSON.parse(again.out)).toMatchObject({
        ok: false,
        code: 'TELEMETRY_PROFILE_DISABLED',
        error: { details: { plugin: 'acme-gas' } },
      });
    },
    cliBudgetMs(6),
  );
});
