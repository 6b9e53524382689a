/**
 * The chaos runner behind `meterhub chaos`: runs the campaigns one after another, each with its share of the
 * time budget for injecting faults (verification may run a bounded grace past it), and sums the figures an
 * auditor asks for. Everything runs on loopback with its own brokers, ports, ptys and databases.
 */
import { execFileSync } from 'node:child_process';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { serviceAvailable } from '../testing/services.ts';
import { bundledPluginProfiles } from '../plugins/plugin-profiles.ts';
import type { ProfileRegistry } from '../telemetry/profile-registry.ts';
import { brokerOutageCampaign } from './broker-outages.ts';
import { driverFaultCampaign } from './driver-faults.ts';
import { gatewayKillCampaign } from './gateway-kills.ts';
import { serialNoiseCampaign } from './serial-noise.ts';
import { serverKillCampaign } from './server-kills.ts';
import { newReport, seededRandom, type CampaignContext, type CampaignName, type CampaignReport } from './types.ts';

export interface ChaosOptions {
  /** The registry campaigns resolve 'chint' in; default: the bundled plugins' (`meterhub chaos` passes its own). */
  profiles?: ProfileRegistry;
  budgetSeconds: number;
  driverFaults: number;
  serverKills: number;
  brokerOutages: number;
  noiseBursts: number;
  gatewayKills: number;
  /** Databases for the server-kill campaign; postgres is skipped with a note when unreachable. */
  databases: Array<'sqlite' | 'postgres'>;
  quick: boolean;
  seed: number;
  log?: (line: string) => void;
}

export const QUICK: Omit<ChaosOptions, 'seed' | 'log'> = {
  budgetSeconds: 45,
  driverFaults: 6,
  serverKills: 2,
  brokerOutages: 1,
  noiseBursts: 6,
  gatewayKills: 1,
  databases: ['sqlite'],
  quick: true,
};
export const FULL: Omit<ChaosOptions, 'seed' | 'log'> = {
  budgetSeconds: 300,
  driverFaults: 30,
  serverKills: 6,
  brokerOutages: 4,
  noiseBursts: 40,
  gatewayKills: 4,
  databases: ['sqlite', 'postgres'],
  quick: false,
};

export interface ChaosTotals {
  faultsInjected: number;
  driverFaultsSurvived: number;
  driverFaultsInjected: number;
  purchasesLost: number;
  purchasesDuplicated: number;
  readingsLost: number;
  readingsDuplicated: number;
  wrongReadingsStored: number;
}

export interface ChaosReport {
  ok: boolean;
  seed: number;
  options: Omit<ChaosOptions, 'log'>;
  machine: MachineInfo;
  startedAt: string;
  seconds: number;
  campaigns: CampaignReport[];
  totals: ChaosTotals;
}

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  freeMemoryGiB: number;
  os: string;
  node: string;
  loadAverageBefore: number[];
  loadAverageAfter: number[];
}

export function machineInfo(): Omit<MachineInfo, 'loadAverageBefore' | 'loadAverageAfter'> {
  let os = `${process.platform} ${process.arch}`;
  try {
    const rel = execFileSync('sh', ['-c', '. /etc/os-release && echo "$PRETTY_NAME"'], { encoding: 'utf8' }).trim();
    os = `${rel}, kernel ${execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim()} (${process.arch})`;
  } catch {
    /* not Linux */
  }
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
    freeMemoryGiB: +(freemem() / 2 ** 30).toFixed(1),
    os,
    node: process.version,
  };
}

export const load = () => loadavg().map((x) => +x.toFixed(2));

function hasCommand(cmd: string, arg = '-h'): boolean {
  try {
    execFileSync(cmd, [arg], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch (e) {
    // Present but unhappy with the flag still counts; ENOENT does not.
    return (e as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

interface Plan {
  name: CampaignName;
  count: number;
  weightSeconds: number;
  run(ctx: CampaignContext): Promise<CampaignReport>;
  needs?: () => Promise<string | null>;
}

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const log = o.log ?? (() => {});
  const profiles = o.profiles ?? bundledPluginProfiles();
  const startedAt = new Date().toISOString();
  const loadBefore = load();
  const t0 = Date.now();
  const rand = seededRandom(o.seed);
  const needMosquitto = async () =>
    hasCommand('mosquitto') ? null : 'mosquitto is not installed (apt-get install mosquitto)';
  const needSocat = async () => (hasCommand('socat', '-V') ? null : 'socat is not installed (apt-get install socat)');
  const plans: Plan[] = [
    {
      name: 'driver-faults',
      count: o.driverFaults,
      weightSeconds: 3 + o.driverFaults * 0.9,
      run: (c) => driverFaultCampaign(o.driverFaults, c),
    },
    ...o.databases.map((db): Plan => ({
      name: 'server-kills',
      count: o.serverKills,
      weightSeconds: 6 + o.serverKills * 4,
      run: (c) =>
        serverKillCampaign({ kills: o.serverKills, database: db, clients: o.quick ? 4 : 8, cardsPerClient: 2 }, c),
      needs: async () =>
        db === 'postgres' && !(await serviceAvailable('postgres'))
          ? 'PostgreSQL is not reachable at 127.0.0.1:5432'
          : null,
    })),
    {
      name: 'broker-outages',
      count: o.brokerOutages,
      weightSeconds: 3 + o.brokerOutages * 2.5,
      run: (c) => brokerOutageCampaign(o.brokerOutages, c),
      needs: needMosquitto,
    },
    {
      name: 'serial-noise',
      count: o.noiseBursts,
      weightSeconds: 3 + o.noiseBursts * 0.5,
      run: (c) => serialNoiseCampaign(o.noiseBursts, c),
      needs: needSocat,
    },
    {
      name: 'gateway-kills',
      count: o.gatewayKills,
      weightSeconds: 4 + o.gatewayKills * 3.5,
      run: (c) => gatewayKillCampaign(o.gatewayKills, c),
      needs: needMosquitto,
    },
  ];
  const campaigns: CampaignReport[] = [];
  const active = plans.filter((p) => p.count > 0);
  let weightLeft = active.reduce((s, p) => s + p.weightSeconds, 0);
  const budgetEnd = t0 + o.budgetSeconds * 1000;
  for (const p of active) {
    const started = Date.now();
    const share = Math.max(0, budgetEnd - started) * (p.weightSeconds / weightLeft);
    weightLeft -= p.weightSeconds;
    const ctx: CampaignContext = { deadline: started + share, rand, log, quick: o.quick, profiles };
    const variant =
      p.name === 'server-kills' ? o.databases[campaigns.filter((c) => c.name === 'server-kills').length] : undefined;
    log(
      `chaos: ${p.name}${variant ? ` (${variant})` : ''}: ${p.count} faults, ${Math.round(share / 1000)} s to inject`,
    );
    let r: CampaignReport;
    const missing = await p.needs?.().catch((e: Error) => e.message);
    if (missing) {
      r = newReport(p.name, p.count);
      r.status = 'skipped';
      r.error = missing;
    } else {
      try {
        r = await p.run(ctx);
        r.status = r.violations.length ? 'failed' : r.injected === 0 ? 'error' : 'passed';
        if (r.injected === 0 && !r.violations.length) r.error = 'no fault was injected within the time budget';
      } catch (e) {
        r = newReport(p.name, p.count);
        r.status = 'error';
        r.error = (e as Error).stack ?? String(e);
      }
    }
    if (variant) r.variant = variant;
    r.seconds = +((Date.now() - started) / 1000).toFixed(1);
    log(
      `chaos: ${p.name}${variant ? ` (${variant})` : ''}: ${r.status} in ${r.seconds} s ${JSON.stringify(r.figures)}${r.error ? ` — ${r.error.split('\n')[0]}` : ''}`,
    );
    for (const v of r.violations) log(`  ✗ ${v}`);
    campaigns.push(r);
  }
  const sum = (name: CampaignName, key: string) =>
    campaigns.filter((c) => c.name === name).reduce((s, c) => s + (c.figures[key] ?? 0), 0);
  const totals: ChaosTotals = {
    faultsInjected: campaigns.reduce((s, c) => s + c.injected, 0),
    driverFaultsInjected: sum('driver-faults', 'injected'),
    driverFaultsSurvived: sum('driver-faults', 'survived'),
    purchasesLost: sum('server-kills', 'purchasesLost'),
    purchasesDuplicated: sum('server-kills', 'purchasesDuplicated'),
    readingsLost: sum('broker-outages', 'readingsLost') + sum('gateway-kills', 'readingsLost'),
    readingsDuplicated: sum('broker-outages', 'readingsDuplicated') + sum('gateway-kills', 'readingsDuplicated'),
    wrongReadingsStored: sum('serial-noise', 'wrongReadingsStored'),
  };
  // A skipped PostgreSQL variant is a note, not a failure: SQLite carries the guarantee on this machine.
  const counts = (c: CampaignReport) => !(c.status === 'skipped' && c.variant === 'postgres');
  const ok = campaigns.every((c) => c.status === 'passed' || !counts(c));
  const { log: _drop, ...options } = o;
  return {
    ok,
    seed: o.seed,
    options,
    startedAt,
    seconds: +((Date.now() - t0) / 1000).toFixed(1),
    campaigns,
    totals,
    machine: { ...machineInfo(), loadAverageBefore: loadBefore, loadAverageAfter: load() },
  };
}

/** The final table: one line per campaign, then the totals an auditor asks for. */
export function formatChaosReport(r: ChaosReport): string {
  const key = (c: CampaignReport): string => {
    const f = c.figures;
    switch (c.name) {
      case 'driver-faults':
        return `survived ${f.survived ?? 0}/${f.injected ?? 0}, right error ${f.rightError ?? 0}, respawns ${f.respawns ?? 0}/${f.expectedRespawns ?? 0}, server restarts ${f.serverRestarts ?? 0}`;
      case 'server-kills':
        return `sales ${f.salesAcknowledged ?? 0} (${f.replayedAfterKill ?? 0} replayed after a kill), orphaned ${f.purchasesOrphaned ?? 0}, audit verify ${f.auditVerifyFailed ? 'FAILED' : 'ok'}`;
      case 'broker-outages':
        return `sent ${f.readingsSent ?? 0}, billed webhook ${f.billedWebhook ?? 0} / MQTT ${f.billedMqtt ?? 0}, redeliveries absorbed ${f.redeliveriesAbsorbed ?? 0}`;
      case 'serial-noise':
        return `live meters read ${f.liveMetersRead ?? 0}/${f.liveMeters ?? 0}, wrong readings stored ${f.wrongReadingsStored ?? 0}, corrupted frames rejected ${f.frameErrorsRejected ?? 0} (${f.repliesHitByNoise ?? 0} replies hit)`;
      case 'gateway-kills':
        return `sent ${f.readingsSent ?? 0}, billed ${f.billed ?? 0}, kills mid-stream ${f.killsMidStream ?? 0}, redeliveries absorbed ${f.redeliveriesAbsorbed ?? 0}`;
    }
  };
  const lostDup = (c: CampaignReport): [string, string] => {
    const f = c.figures;
    if (c.name === 'server-kills') return [String(f.purchasesLost ?? '-'), String(f.purchasesDuplicated ?? '-')];
    if (c.name === 'broker-outages' || c.name === 'gateway-kills')
      return [String(f.readingsLost ?? '-'), String(f.readingsDuplicated ?? '-')];
    if (c.name === 'serial-noise') return [String((f.liveMeters ?? 0) - (f.liveMetersRead ?? 0)), '-'];
    return ['-', '-'];
  };
  const rows = r.campaigns.map((c) => {
    const [lost, dup] = lostDup(c);
    return [
      `${c.name}${c.variant ? ` (${c.variant})` : ''}`,
      `${c.injected}/${c.planned}`,
      lost,
      dup,
      c.status.toUpperCase(),
      `${c.seconds}`,
      c.error ? c.error.split('\n')[0]! : key(c),
    ];
  });
  const head = ['campaign', 'injected', 'lost', 'duplicated', 'status', 's', 'figures'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  const t = r.totals;
  return [
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    `driver faults survived ${t.driverFaultsSurvived}/${t.driverFaultsInjected} · purchases lost ${t.purchasesLost}, duplicated ${t.purchasesDuplicated} · readings lost ${t.readingsLost}, duplicated ${t.readingsDuplicated} · wrong readings stored ${t.wrongReadingsStored}`,
    `${t.faultsInjected} faults in ${r.seconds} s (seed ${r.seed}); load average before ${r.machine.loadAverageBefore.join(' ')}, after ${r.machine.loadAverageAfter.join(' ')} on ${r.machine.cores} × ${r.machine.cpuModel}`,
    ...r.campaigns.flatMap((c) => c.violations.map((v) => `✗ ${c.name}: ${v}`)),
    r.ok ? 'CHAOS PASSED: nothing lost, nothing duplicated, every campaign ran.' : 'CHAOS FAILED: see the rows above.',
  ].join('\n');
}
