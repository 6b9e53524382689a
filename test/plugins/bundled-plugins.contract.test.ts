/** The plugin contract, run against each of the six bundled maker plugins and their stand-in libraries. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import koffi from 'koffi';
import { afterAll, beforeAll } from 'vitest';
import { createPluginHost } from '../../core/plugins/plugin-host.ts';
import type { PluginHost } from '../../core/plugins/plugin-types.ts';
import { pluginContract } from './plugin-contract.ts';

const BUNDLED = ['chint', 'kingcard', 'lanbaoshi', 'songchuan', 'tancy', 'zenner'];
let host: PluginHost;
const dataDir = mkdtempSync(join(tmpdir(), 'mh-contract-'));
// The Tancy stand-in keeps its simulated CPU card in files; the driver host child inherits this env.
process.env.METERHUB_SIM_CPU_DIR = join(dataDir, 'sim-cpu');

beforeAll(async () => {
  host = await createPluginHost({ dataDir, ignoreEnv: true });
});
afterAll(async () => {
  await host?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function insertBlankCpuCard(com: number): void {
  // The test process loads the (correct) Tancy stand-in only to use its simulator helpers.
  const lib = koffi.load(host.get('tancy')!.libraryPath!);
  lib.func('int StandInCpuInsertBlank(int16_t com)')(com);
  lib.func('int StandInCpuSetPsam(int16_t com, int present)')(com, 1);
  lib.unload();
}

for (const id of BUNDLED) pluginContract(id, () => ({ host, insertBlankCpuCard }));
