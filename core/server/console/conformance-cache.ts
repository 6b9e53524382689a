/**
 * Conformance results of each plugin's configured library, for the console. A run starts its own driver host
 * child (core/conformance/kit.ts), so runs are serialised per plugin and remembered until the library file
 * changes: ops see the last result instantly and re-run on purpose.
 */
import { statSync } from 'node:fs';
import type { ConformanceReport } from '../../conformance/check-result.ts';
import { runConformance } from '../../conformance/kit.ts';
import { librariesOf } from '../../plugins/manifest.ts';
import { PluginUnknown } from '../../plugins/plugin-errors.ts';
import type { PluginHost, PluginManifest } from '../../plugins/plugin-types.ts';
import { ConformanceBridgeUnsupported, ConformanceLibraryMissing } from './console-errors.ts';

export interface CachedConformance {
  plugin: string;
  library: string;
  standIn: boolean;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** CPU cards: the reader port that held a blank card. */
  com: number;
  report: ConformanceReport;
}

type Runner = typeof runConformance;

/** A library hosted by a non-Node bridge on this platform (Tancy's .NET assembly); the kit loads C libraries only. */
const bridged = (m: PluginManifest) => !!m.bridge?.exe[`${process.platform}-${process.arch}`];

export class ConformanceCache {
  private readonly done = new Map<string, { fingerprint: string; result: CachedConformance }>();
  private readonly running = new Map<string, Promise<CachedConformance>>();

  constructor(
    private readonly host: PluginHost,
    private readonly runner: Runner = runConformance,
  ) {}

  private target(id: string): { library: string; fingerprint: string } {
    const st = this.host.get(id);
    if (!st) throw PluginUnknown({ id }, { zh: id, en: id });
    const library = st.libraryPath;
    if (!library)
      throw ConformanceLibraryMissing(
        { plugin: id },
        { zh: '清单中没有本平台的动态库', en: 'the manifest names no library for this platform' },
      );
    let fingerprint: string;
    try {
      const s = statSync(library);
      fingerprint = `${library}:${s.size}:${s.mtimeMs}`;
    } catch {
      throw ConformanceLibraryMissing({ plugin: id, library });
    }
    return { library, fingerprint };
  }

  /** The last result for the library as it is on disk now, or null (never run, or the file changed since). */
  cached(id: string): CachedConformance | null {
    const { fingerprint } = this.target(id);
    const hit = this.done.get(id);
    return hit && hit.fingerprint === fingerprint ? hit.result : null;
  }

  isRunning(id: string): boolean {
    return this.running.has(id);
  }

  /** Runs the kit (or joins the run already going for this plugin). */
  run(id: string, o: { com?: number } = {}): Promise<CachedConformance> {
    const inFlight = this.running.get(id);
    if (inFlight) return inFlight;
    const { library, fingerprint } = this.target(id);
    const loaded = this.host.manifest(id);
    if (bridged(loaded)) {
      throw ConformanceBridgeUnsupported({ plugin: id });
    }
    // Every other plugin's library must refuse this one's cards (the seed assumes no two makers claim a card).
    // A peer whose library is missing stays in: the kit reports the check it could not make (peer-unavailable).
    const against = this.host
      .list()
      .filter((p) => p.id !== id && p.libraryPath !== library)
      .filter((p) => !bridged(this.host.manifest(p.id)))
      .map((p) => {
        const m = this.host.manifest(p.id);
        const libraries = librariesOf({ dir: p.dir, manifest: m });
        return {
          name: p.id,
          library: p.libraryPath ?? Object.values(libraries)[0]!,
          libraries,
          cardTypes: m.cardTypes,
          ...(m.symbols ? { symbols: m.symbols } : {}),
        };
      });
    const started = Date.now();
    const p = this.runner({
      library,
      ...(loaded.symbols ? { symbols: loaded.symbols } : {}),
      ...(loaded.driver?.execPath ? { execPath: loaded.driver.execPath } : {}),
      ...(loaded.driver?.callTimeoutMs ? { callTimeoutMs: Math.min(loaded.driver.callTimeoutMs, 5000) } : {}),
      against,
      com: o.com ?? 0,
    })
      .then((report) => {
        const result: CachedConformance = {
          plugin: id,
          library,
          standIn: this.host.get(id)?.standIn === true,
          startedAt: new Date(started).toISOString(),
          finishedAt: new Date().toISOString(),
          durationMs: Date.now() - started,
          com: o.com ?? 0,
          report,
        };
        this.done.set(id, { fingerprint, result });
        return result;
      })
      .finally(() => this.running.delete(id));
    this.running.set(id, p);
    return p;
  }
}
