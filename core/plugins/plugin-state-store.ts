/**
 * Which plugins ops have enabled, persisted as <dataDir>/plugins.json so the CLI and a running server
 * agree. Writes go through a temp file + rename: a crash mid-write never leaves a torn file.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { replaceFileSync } from '../db/replace-file.ts';
import { tightenFiles } from '../db/private-files.ts';
import { dirname, join } from 'node:path';

export interface PluginStateFile {
  plugins: Record<string, { enabled: boolean; changedAt: string }>;
}

export class PluginStateStore {
  readonly file: string;
  private cached: { state: PluginStateFile; at: number } | undefined;

  /**
   * `maxAgeMs`: how long a read is reused. Every card operation asks whether each maker is enabled, so the
   * file is not re-read each time; a change made by another process (the CLI) is seen within this delay.
   */
  constructor(
    dataDir: string,
    private readonly maxAgeMs = 1000,
  ) {
    this.file = join(dataDir, 'plugins.json');
  }

  read(): PluginStateFile {
    const now = Date.now();
    if (this.cached && now - this.cached.at < this.maxAgeMs) return this.cached.state;
    let state: PluginStateFile;
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as PluginStateFile;
      state = parsed && typeof parsed.plugins === 'object' ? parsed : { plugins: {} };
    } catch {
      state = { plugins: {} };
    }
    this.cached = { state, at: now };
    return state;
  }

  enabled(id: string, fallback: boolean): boolean {
    return this.read().plugins[id]?.enabled ?? fallback;
  }

  set(id: string, enabled: boolean): void {
    this.cached = undefined;
    const state = structuredClone(this.read());
    state.plugins[id] = { enabled, changedAt: new Date().toISOString() };
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    // 0600 like everything else in the data directory (core/db/private-files.ts).
    writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
    tightenFiles([tmp]);
    replaceFileSync(tmp, this.file);
    this.cached = { state, at: Date.now() };
  }
}
