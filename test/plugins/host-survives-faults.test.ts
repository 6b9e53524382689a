/**
 * The plugin host survives every kind of faulty maker library: the call fails with a clear error, the
 * driver host is respawned, the next call is served, and other makers are untouched.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPluginHost } from '../../core/plugins/plugin-host.ts';
import type { PluginHost } from '../../core/plugins/plugin-types.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'mh-faulthost-'));
const FAULTS = ['segv', 'abort', 'hang', 'overrun', 'garbage', 'claim_all'];
const platform = `${process.platform}-${process.arch}`;
let host: PluginHost;

beforeAll(async () => {
  for (const f of FAULTS) {
    const dir = join(work, 'makers', `fault-${f.replace('_', '-')}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'meterhub-plugin.json'),
      JSON.stringify({
        id: `fault-${f.replace('_', '-')}`,
        name: { 'zh-CN': `故障库 ${f}`, en: `Fault build ${f}` },
        cardTypes: ['4442'],
        library: { [platform]: join(ROOT, 'build/native/faults', `libgascard_fault_${f}.so`) },
        standIn: true,
        driver: { callTimeoutMs: 1000 },
        catalogues: { returnCodes: [{ code: '0', zh: '正常', en: 'Normal', source: 'test' }], toolCards: [] },
      }),
    );
  }
  // A "library" that is not a shared object at all: the driver host cannot load it.
  const broken = join(work, 'makers', 'broken-lib');
  mkdirSync(join(broken, 'lib'), { recursive: true });
  writeFileSync(join(broken, 'lib', 'libbroken.so'), 'this is not an ELF file\n');
  writeFileSync(
    join(broken, 'meterhub-plugin.json'),
    JSON.stringify({
      id: 'broken-lib',
      name: { 'zh-CN': '损坏的库', en: 'Broken library' },
      cardTypes: ['4442'],
      library: { [platform]: 'lib/libbroken.so' },
      catalogues: { returnCodes: [{ code: '0', zh: '正常', en: 'Normal', source: 'test' }], toolCards: [] },
    }),
  );
  host = await createPluginHost({ dataDir: join(work, 'data'), pluginPaths: [join(work, 'makers')], ignoreEnv: true });
  for (const f of FAULTS) await host.enable(`fault-${f.replace('_', '-')}`);
});
afterAll(async () => {
  await host?.close();
  rmSync(work, { recursive: true, force: true });
});

const KH = '1234567';

describe('faulty libraries fail one call, never the host', () => {
  for (const [fault, code] of [
    ['segv', 'DRIVER_CRASHED'],
    ['abort', 'DRIVER_CRASHED'],
    ['hang', 'DRIVER_TIMEOUT'],
  ] as const) {
    it(`${fault}: the call fails with ${code} (503, retry later), the driver respawns and serves the next call`, async () => {
      const d = host.driver(`fault-${fault}`);
      const issued = await d.writeNew('4442', { cardNo: KH, gas: 5, count: 1, meterKind: 1 });
      expect(issued.rc).toBe(0);
      const err = await d.read('4442', issued.data).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code, status: 503 });
      expect((err as Error).message).toMatch(/[\u4e00-\u9fff]/);
      expect((err as { details: { retryAfterSeconds: number } }).details.retryAfterSeconds).toBeGreaterThan(0);
      // The respawned host answers functions that work in this build.
      await expect(d.writeNew('4442', { cardNo: KH, gas: 6, count: 1, meterKind: 1 })).resolves.toMatchObject({
        rc: 0,
      });
      expect(d.health().restarts).toBeGreaterThanOrEqual(1);
      expect(host.get(`fault-${fault}`)!.driver).toMatchObject({ state: 'ready', lastError: { code } });
      // Other makers are untouched.
      await expect(
        host.driver('kingcard').writeNew('4442', { cardNo: KH, gas: 1, count: 1, meterKind: 1 }),
      ).resolves.toMatchObject({ rc: 0 });
    }, 60_000);
  }

  for (const fault of ['overrun', 'garbage']) {
    it(`${fault}: malformed card data never reaches a client (DRIVER_OUTPUT_INVALID)`, async () => {
      const d = host.driver(`fault-${fault}`);
      await expect(d.writeNew('4442', { cardNo: KH, gas: 5, count: 1, meterKind: 1 })).rejects.toMatchObject({
        code: 'DRIVER_OUTPUT_INVALID',
        status: 502,
      });
      // No secret material in the error text.
      const err = await d.writeNew('4442', { cardNo: KH, gas: 5, count: 1, meterKind: 1 }).catch((e: Error) => e);
      expect(JSON.stringify(err)).not.toMatch(/[0-9A-F]{40,}/);
    });
  }

  it('claim_all: identify reports a conflict naming both makers instead of guessing', async () => {
    const card = await host.driver('kingcard').writeNew('4442', { cardNo: KH, gas: 1, count: 1, meterKind: 1 });
    const err = await host.identify('4442', card.data).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CARD_CONFLICT', status: 409 });
    expect((err as { details: { makers: string[] } }).details.makers).toEqual(
      expect.arrayContaining(['kingcard', 'fault-claim-all']),
    );
  });

  it('a library that cannot load makes identification refuse to guess (IDENTIFY_INCOMPLETE) until ops disable it', async () => {
    await host.disable('fault-claim-all');
    const card = await host.driver('chint').writeNew('4442', { cardNo: KH, gas: 1, count: 1, meterKind: 1 });
    await host.enable('broken-lib');
    const err = await host.identify('4442', card.data).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'IDENTIFY_INCOMPLETE', status: 503 });
    expect((err as { details: { failed: Array<{ maker: string }> } }).details.failed.map((f) => f.maker)).toEqual([
      'broken-lib',
    ]);
    await host.disable('broken-lib');
    await expect(host.identify('4442', card.data)).resolves.toMatchObject({ maker: 'chint', kind: 'user' });
    await expect(host.identify('4442', 'FF'.repeat(256))).rejects.toMatchObject({ code: 'CARD_UNKNOWN', status: 422 });
  }, 60_000);
});
