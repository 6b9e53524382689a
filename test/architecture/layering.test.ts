/**
 * Layering you can see (issue 15 item 8): low layers never import high ones, and chaos, bench, simulator and test
 * code stay out of the production import graph. The rules below are the layer ORDER, not a list of today's files,
 * so a new module (core/http, core/config, core/wire …) is checked the moment it exists. docs/architecture.md §0
 * draws the same map.
 *
 * Every non-test .ts file is parsed with TypeScript's own `ts.preProcessFile` (static imports, `import type`,
 * re-exports and literal dynamic `import()`); relative specifiers are resolved to repository paths.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');
const SOURCE_DIRS = ['core', 'gateways', 'plugins', 'sdk', 'bench', 'test', 'scripts'];

// ---------------------------------------------------------------------------------------------------------------
// The layers, lowest first. A module may import its own layer and lower ones, never a higher one.
// ---------------------------------------------------------------------------------------------------------------

/**
 * The kernel both programs share, in four tiers. A folder imports its own tier and lower ones; folders of one tier
 * may use each other but never in a loop (the cycle test). A new folder under core/ starts in the domain tier:
 * move it down here when a lower tier needs it, which is a decision about the design, not a chore.
 */
const KERNEL_TIERS = {
  /** Foundations: they import nothing of ours but each other. */
  base: ['errors', 'util', 'config'],
  /** Storage, the shared HTTP layer, card and frame contracts, wire shapes: what services are written against. */
  contracts: ['db', 'http', 'cards', 'company-card', 'telemetry', 'wire'],
  /** Services built on the contracts: driver hosts, plugin host, readings pipeline, auth, audit, conformance. */
  services: ['driver', 'inspect', 'plugins', 'conformance', 'readings', 'auth', 'audit'],
  /** The money and operations domain: ledger, meter registry, metrics, ops, go-live, migrations of every store. */
  domain: ['ledger', 'meters', 'metrics', 'ops', 'golive', 'schema'],
} as const;
type KernelTier = keyof typeof KERNEL_TIERS;
/** The programs' own folders under core/ (their HTTP surfaces, flows and command line). */
const PROGRAMS: Record<string, string> = { server: 'server', station: 'station', cli: 'shell' };
/** Folders (anywhere) and top-level trees that exist for tests, benchmarks, chaos runs and simulators. */
const TOOL_TREES = [/^bench\//, /^test\//, /^scripts\//, /^core\/(chaos|testing)\//, /^gateways\/(sim|testing)\//];
const TOOL_SEGMENTS = /\/(testing|test-fixtures|fixtures)\//;
/** A contract suite (one per interface, run by each implementation's tests) is test code wherever it sits. */
const TOOL_FILES = /\.contract\.ts$/;

type Layer = KernelTier | 'adapter' | 'plugin' | 'program' | 'tool';
/**
 * Rank per layer, lowest first: an import may go sideways or down, never up. Adapters (gateways: serial, collector,
 * MQTT transports) and maker plugin code sit on the kernel; the programs sit on both; tools may use anything.
 */
const RANK: Record<Layer, number> = {
  base: 0,
  contracts: 1,
  services: 2,
  domain: 3,
  plugin: 4,
  adapter: 4,
  program: 5,
  tool: 6,
};
const KERNEL = new Set<Layer>(['base', 'contracts', 'services', 'domain']);

interface Place {
  layer: Layer;
  /** The unit that cycles are checked between: core/<dir>, gateways/<dir>, a program name. */
  unit: string;
  /** For programs: server, station or shell (the CLI that starts them). */
  program?: string;
}

export function placeOf(file: string): Place {
  const isTool = TOOL_TREES.some((r) => r.test(file)) || TOOL_SEGMENTS.test(`/${file}`) || TOOL_FILES.test(file);
  if (isTool) return { layer: 'tool', unit: 'tool' };
  const [top, dir] = file.split('/');
  if (top === 'plugins' || top === 'sdk') return { layer: 'plugin', unit: `${top}/${dir}` };
  if (top === 'gateways') return { layer: 'adapter', unit: `gateways/${dir!.replace(/\.ts$/, '')}` };
  if (top === 'core' && dir !== undefined) {
    const program = PROGRAMS[dir];
    if (program) return { layer: 'program', unit: program, program };
    // Every other folder under core/ is kernel, shared by both programs; unnamed ones start in the domain tier.
    const tiers = Object.keys(KERNEL_TIERS) as KernelTier[];
    const tier = tiers.find((t) => (KERNEL_TIERS[t] as readonly string[]).includes(dir));
    return { layer: tier ?? 'domain', unit: `core/${dir}` };
  }
  return { layer: 'tool', unit: top ?? file };
}

// ---------------------------------------------------------------------------------------------------------------
// Edges the rules would refuse but that stay for now, each with its reason. An entry that no longer matches an
// edge fails the test, so the list only shrinks.
// ---------------------------------------------------------------------------------------------------------------

interface Allowed {
  from: string;
  to: string;
  why: string;
}
const ALLOWED: Allowed[] = [
  {
    from: 'core/company-card/spec-vectors.ts',
    to: 'core/company-card/testing/fixtures.ts',
    why:
      'a generator script (npx tsx) that prints the spec §12 vectors from the TEST master keys; only its own test ' +
      'imports it, never a program',
  },
  {
    from: 'core/driver/measure-ipc.ts',
    to: 'core/driver/test-fixtures/build-fixture.ts',
    why: 'a measuring script (npx tsx) that falls back to the test fixture library; no program imports it',
  },
];

// ---------------------------------------------------------------------------------------------------------------

interface Edge {
  from: string;
  to: string;
  dynamic: boolean;
}

function sourceFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (name === 'node_modules' || name.startsWith('.')) continue;
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts') && !name.endsWith('.test.ts')) out.push(p);
    }
  };
  for (const d of SOURCE_DIRS) if (existsSync(join(ROOT, d))) walk(join(ROOT, d));
  return out;
}

function resolveSpecifier(fromAbs: string, spec: string): string {
  const abs = resolve(dirname(fromAbs), spec);
  for (const c of [abs, abs.replace(/\.js$/, '.ts'), `${abs}.ts`, join(abs, 'index.ts')]) {
    if (existsSync(c) && statSync(c).isFile()) return c;
  }
  return abs;
}

/** Literal `import('…')` calls, which preProcessFile reports among its imports without saying which they are. */
function dynamicSpecifiers(text: string): Set<string> {
  return new Set([...text.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!));
}

function importEdges(): Edge[] {
  const edges: Edge[] = [];
  for (const abs of sourceFiles()) {
    const text = readFileSync(abs, 'utf8');
    const dynamic = dynamicSpecifiers(text);
    for (const ref of ts.preProcessFile(text, true, true).importedFiles) {
      if (!ref.fileName.startsWith('.')) continue; // packages and node: builtins are not layers
      edges.push({
        from: relative(ROOT, abs).split('\\').join('/'),
        to: relative(ROOT, resolveSpecifier(abs, ref.fileName)).split('\\').join('/'),
        dynamic: dynamic.has(ref.fileName),
      });
    }
  }
  return edges;
}

/** Why an edge breaks the layer rules, or null when it keeps them. Cycles between units are found separately. */
export function violation(e: Edge): string | null {
  const a = placeOf(e.from);
  const b = placeOf(e.to);
  if (a.layer === 'tool') return null; // tools may use anything
  if (b.layer === 'tool') {
    // The CLI may load a tool for the command that runs it (bench, chaos, simulate), never at start.
    if (a.program === 'shell' && e.dynamic) return null;
    return `${a.layer} imports ${e.dynamic ? '' : 'statically '}a test/bench/chaos/simulator module`;
  }
  if (a.layer === 'plugin' && !KERNEL.has(b.layer) && b.layer !== 'plugin') {
    return 'plugin code reaches past the kernel';
  }
  if (a.layer === 'adapter' && b.layer === 'plugin') return 'adapter imports plugin code';
  if (RANK[b.layer] > RANK[a.layer]) return `${a.layer} imports ${b.layer}`;
  // The two programs share the kernel, not each other; only the CLI starts either of them.
  if (a.program && b.program && a.program !== b.program && a.program !== 'shell') {
    return `program ${a.program} imports program ${b.program}`;
  }
  return null;
}

function allowed(e: Edge): Allowed | undefined {
  const matches = (to: string) => to === e.to || (to.endsWith('/*') && e.to.startsWith(to.slice(0, -1)));
  return ALLOWED.find((x) => x.from === e.from && matches(x.to));
}

/** Units that import each other, directly or around a loop (audit ↔ ledger was one). */
function unitCycles(edges: Edge[]): string[][] {
  const graph = new Map<string, Set<string>>();
  for (const e of edges) {
    const a = placeOf(e.from);
    const b = placeOf(e.to);
    if (a.layer === 'tool' || b.layer === 'tool' || a.unit === b.unit || allowed(e)) continue;
    if (!graph.has(a.unit)) graph.set(a.unit, new Set());
    graph.get(a.unit)!.add(b.unit);
  }
  // Tarjan's strongly connected components; any component of more than one unit is a cycle.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) {
        low.set(v, Math.min(low.get(v)!, idx.get(w)!));
      }
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) out.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

/** Every module a file reaches through static imports: what loading it loads (dynamic ones wait for their command). */
function staticClosure(entry: string, edges: Edge[]): Set<string> {
  const next = new Map<string, string[]>();
  for (const e of edges) if (!e.dynamic) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const seen = new Set<string>([entry]);
  const todo = [entry];
  while (todo.length)
    for (const t of next.get(todo.pop()!) ?? [])
      if (!seen.has(t)) {
        seen.add(t);
        todo.push(t);
      }
  return seen;
}

const EDGES = importEdges();

describe('layering: low layers never import high ones', () => {
  it('parses the import graph of the whole repository', () => {
    // The parser works: the CLI's serve command and a dynamic import are both seen.
    expect(EDGES.length).toBeGreaterThan(500);
    expect(EDGES.some((e) => e.from === 'core/cli/commands/serve.ts' && e.to === 'core/server/server.ts')).toBe(true);
    expect(EDGES.some((e) => e.dynamic)).toBe(true);
  });

  it('every relative import, static or dynamic, names a file that exists', () => {
    // A lazily loaded tool (bench, chaos, simulate) is only checked by the compiler when its path is a literal;
    // this keeps a moved file from breaking a command nobody ran.
    expect(EDGES.filter((e) => !existsSync(join(ROOT, e.to))).map((e) => `${e.from} → ${e.to}`)).toEqual([]);
  });

  it('places modules in their layers', () => {
    expect(placeOf('core/errors/meterhub-error.ts').layer).toBe('base');
    expect(placeOf('core/config/config.ts').layer).toBe('base');
    expect(placeOf('core/http/error-handler.ts').layer).toBe('contracts');
    expect(placeOf('core/wire/tx.ts').layer).toBe('contracts');
    expect(placeOf('core/plugins/plugin-host.ts').layer).toBe('services');
    expect(placeOf('core/ledger/ledger-store.ts').layer).toBe('domain');
    expect(placeOf('core/some-new-folder/x.ts').layer).toBe('domain');
    expect(placeOf('core/ledger/testing/databases.ts').layer).toBe('tool');
    expect(placeOf('gateways/mqtt/mqtt-gateway.ts').layer).toBe('adapter');
    expect(placeOf('gateways/sim/bus-simulator.ts').layer).toBe('tool');
    expect(placeOf('core/server/server.ts')).toMatchObject({ layer: 'program', program: 'server' });
    expect(placeOf('core/station/station.ts')).toMatchObject({ layer: 'program', program: 'station' });
    expect(placeOf('core/chaos/run-chaos.ts').layer).toBe('tool');
    expect(placeOf('bench/run-all.ts').layer).toBe('tool');
    expect(placeOf('core/readings/store.contract.ts').layer).toBe('tool');
  });

  it('refuses the edges the rules forbid (the rules themselves can fail)', () => {
    const v = (from: string, to: string, dynamic = false) => violation({ from, to, dynamic });
    expect(v('core/metrics/readings-metrics.ts', 'gateways/gateway.ts')).toBe('domain imports adapter');
    expect(v('core/ledger/card-service.ts', 'core/server/schemas.ts')).toBe('domain imports program');
    expect(v('core/errors/x.ts', 'core/db/database.ts')).toBe('base imports contracts');
    expect(v('core/telemetry/profiles.ts', 'core/plugins/discovery.ts')).toBe('contracts imports services');
    expect(v('core/plugins/plugin-host.ts', 'core/telemetry/profiles.ts')).toBeNull();
    expect(v('core/station/station-app.ts', 'core/server/app.ts')).toBe('program station imports program server');
    expect(v('core/cli/commands/bench.ts', 'bench/run-all.ts')).toMatch(/statically/);
    expect(v('core/cli/commands/bench.ts', 'bench/run-all.ts', true)).toBeNull();
    expect(v('core/server/server.ts', 'core/chaos/run-chaos.ts', true)).toMatch(/test\/bench\/chaos/);
    expect(v('core/cli/commands/serve.ts', 'core/server/server.ts')).toBeNull();
    expect(v('core/server/server.ts', 'gateways/gateway.ts')).toBeNull();
    expect(v('test/api/support.ts', 'core/testing/services.ts')).toBeNull();
  });

  it('no production module imports a higher layer or a tool', () => {
    const bad = EDGES.filter((e) => violation(e) !== null && !allowed(e)).map(
      (e) => `${e.from} → ${e.to}  (${violation(e)})`,
    );
    expect(bad, `forbidden imports:\n${bad.join('\n')}`).toEqual([]);
  });

  it('no two units import each other (no cycles between folders)', () => {
    const cycles = unitCycles(EDGES).map((c) => {
      const inCycle = new Set(c);
      const witnesses = EDGES.filter(
        (e) =>
          inCycle.has(placeOf(e.from).unit) &&
          inCycle.has(placeOf(e.to).unit) &&
          placeOf(e.from).unit !== placeOf(e.to).unit &&
          !allowed(e),
      );
      return `${c.join(' ↔ ')}:\n${witnesses.map((e) => `  ${e.from} → ${e.to}`).join('\n')}`;
    });
    expect(cycles, `import cycles:\n${cycles.join('\n')}`).toEqual([]);
  });

  it('every allowed edge still exists, breaks a rule and says why (the list only shrinks)', () => {
    const stale = ALLOWED.filter((a) => !EDGES.some((e) => allowed(e) === a)).map((a) => `${a.from} → ${a.to}`);
    expect(stale, `stale allowances, delete them:\n${stale.join('\n')}`).toEqual([]);
    for (const a of ALLOWED) {
      expect(a.why.length, `${a.from} → ${a.to}`).toBeGreaterThan(20);
      const breaks = EDGES.some((e) => allowed(e) === a && violation(e) !== null);
      expect(breaks, `allowance for an edge the rules accept: ${a.from} → ${a.to}`).toBe(true);
    }
  });

  it('`meterhub serve` and `meterhub station` reach no chaos, bench, simulator or test module statically', () => {
    // Same list as core/cli/main.test.ts (which proves it at run time); here it is the static graph of each entry.
    const notForProduction =
      /^core\/(chaos|testing)\/|^bench\/|^gateways\/(sim|testing)\/|^test\/|\/(testing|test-fixtures|fixtures)\//;
    for (const entry of ['core/cli/commands/serve.ts', 'core/cli/commands/station.ts']) {
      const reached = staticClosure(entry, EDGES);
      expect(reached.size, entry).toBeGreaterThan(20);
      expect(
        [...reached].filter((f) => notForProduction.test(f)),
        entry,
      ).toEqual([]);
    }
    expect(staticClosure('core/cli/commands/serve.ts', EDGES).has('core/server/server.ts')).toBe(true);
  });
});
