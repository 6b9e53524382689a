/**
 * Which plugins ops have enabled, persisted as <dataDir>/plugins.json so the CLI and a running server
 * agree. Writes go through a temp file + rename: a crash mid-write never leaves a torn file.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface PluginStateFile {
  plugins: Record<string, { enabled: boolean; changedAt: string }>;
}

export class PluginStateStore {
  readonly file: string;

  constructor(dataDir: string) {
    this.file = join(dataDir, 'plugins.json');
  }

  read(): PluginStateFile {
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as PluginStateFile;
      return parsed && typeof parsed.plugins === 'object' ? parsed : { plugins: {} };
    } catch {
      return { plugins: {} };
    }
  }

  enabled(id: string, fallback: boolean): boolean {
    return this.read().plugins[id]?.enabled ?? fallback;
  }

  set(id: string, enabled: boolean): void {
    const state = this.read();
    state.plugins[id] = { enabled, changedAt: new Date().toISOString() };
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n');
    renameSync(tmp, this.file);
  }
}
