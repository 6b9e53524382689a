/**
 * A manifest-only maker plugin around one of the fault-injected stand-in builds
 * (build/native/faults/libgascard_fault_<fault>.so): what tests and `meterhub chaos` add on METERHUB_PLUGIN_PATH
 * to prove the server survives a misbehaving vendor library. Returns the folder to put on the plugin path.
 */
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

export function faultPlugin(fault: string, id: string, cardTypes: string[] = ['4442', '102']): string {
  const dir = mkdtempSync(join(tmpdir(), 'mh-fault-plugin-'));
  const pdir = join(dir, id);
  const lib = `lib/libgascard_fault_${fault}.so`;
  mkdirSync(join(pdir, 'lib'), { recursive: true });
  cpSync(join(ROOT, 'build', 'native', 'faults', `libgascard_fault_${fault}.so`), join(pdir, lib));
  writeFileSync(
    join(pdir, 'meterhub-plugin.json'),
    JSON.stringify({
      id,
      name: { 'zh-CN': `故障库 ${fault}`, en: `fault build ${fault}` },
      cardTypes,
      library: { [`${process.platform}-${process.arch}`]: lib },
      standIn: true,
      driver: { callTimeoutMs: 1500 },
      catalogues: { returnCodes: [], toolCards: [] },
    }),
  );
  return dir;
}
