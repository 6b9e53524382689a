/** Where the plugin host looks by default, and what it says when it finds no maker at all. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BUNDLED_PLUGINS_DIR } from './discovery.ts';
import { createPluginHost } from './plugin-host.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'mh-host-defaults-'));
const cwd = process.cwd();

afterEach(() => {
  process.chdir(cwd);
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

describe('plugin host defaults', () => {
  it('finds the bundled makers beside the code when started from another folder', async () => {
    process.chdir(work);
    const host = await createPluginHost({ dataDir: join(work, 'data'), ignoreEnv: true });
    try {
      const plugins = host.list();
      expect(plugins.map((p) => p.id)).toEqual(['chint', 'kingcard', 'lanbaoshi', 'songchuan', 'tancy', 'zenner']);
      for (const p of plugins) expect(p.dir.startsWith(join(ROOT, 'plugins'))).toBe(true);
      expect(BUNDLED_PLUGINS_DIR).toBe(join(ROOT, 'plugins'));
    } finally {
      await host.close();
    }
  });

  it('warns, in Chinese and English, when no maker plugin is found', async () => {
    const { logger, lines } = capturingLogger();
    const empty = mkdtempSync(join(work, 'empty-'));
    const host = await createPluginHost({ dataDir: join(work, 'data2'), bundledDir: empty, ignoreEnv: true, logger });
    try {
      expect(host.list()).toEqual([]);
      const warn = lines.find((l) => l.level === 40);
      expect(warn?.msg).toBe('未找到任何表厂插件，无法售气 / no maker plugins found: no card can be sold');
      expect(warn?.bundledDir).toBe(empty);
    } finally {
      await host.close();
    }
  });

  it('does not warn when makers are found', async () => {
    const { logger, lines } = capturingLogger();
    const host = await createPluginHost({ dataDir: join(work, 'data3'), ignoreEnv: true, logger });
    try {
      expect(host.list().length).toBe(6);
      expect(lines.some((l) => String(l.msg).includes('no maker plugins found'))).toBe(false);
    } finally {
      await host.close();
    }
  });
});
