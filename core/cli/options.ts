/**
 * Options several commands share, declared once so their name, meaning and default cannot drift apart.
 */
import { Option } from 'commander';
import { DEFAULT_DATA_DIR } from '../config/defaults.ts';

/** `--data <dir>`: the data directory (SQLite database, ledger key, plugin state). */
export function dataOption(
  description = 'data directory (SQLite, ledger key, plugin state)',
  defaultDir = DEFAULT_DATA_DIR,
): Option {
  return new Option('--data <dir>', description).default(defaultDir);
}
