/**
 * `meterhub chaos [--quick] [--budget 300] [--driver-faults N --server-kills M --broker-outages K
 * --noise-bursts L --gateway-kills J] [--db sqlite,postgres] [--seed n] [--json report.json]`: bounded fault
 * campaigns on loopback (core/chaos). Prints the figures; exit 1 if anything was lost or duplicated or a
 * campaign failed to run.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { runCli } from '../run-cli.ts';
import { enabledPluginProfiles } from '../../plugins/plugin-profiles.ts';

interface Opts {
  quick?: boolean;
  budget?: string;
  driverFaults?: string;
  serverKills?: string;
  brokerOutages?: string;
  noiseBursts?: string;
  gatewayKills?: string;
  db?: string;
  seed?: string;
  json?: string;
  only?: string;
}

const count = (v: string | undefined, dflt: number, name: string): number => {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number ≥ 0, got ${v}`);
  return n;
};

export function register(program: Command): void {
  program
    .command('chaos')
    .description(
      '故障演练：注入故障并核对无丢失、无重复 / bounded fault campaigns proving nothing is lost or duplicated',
    )
    .option('--quick', 'the short run (part of npm test)')
    .option('--budget <seconds>', 'time budget for injecting faults (default 300, quick 45)')
    .option(
      '--driver-faults <n>',
      'driver faults through the card API (crash, abort, hang, overrun, garbage, claim-all)',
    )
    .option('--server-kills <n>', 'SIGKILLs of meterhub serve during concurrent purchases (per database)')
    .option('--broker-outages <n>', 'Mosquitto stops/starts while MQTT meters publish')
    .option('--noise-bursts <n>', 'noise bursts on a serial meter bus while polling')
    .option('--gateway-kills <n>', 'SIGKILLs of meterhub gateway run mid-stream')
    .option(
      '--only <names>',
      'comma-separated campaigns: driver-faults,server-kills,broker-outages,serial-noise,gateway-kills',
    )
    .option(
      '--db <list>',
      'databases for the server kills: sqlite,postgres (postgres skipped with a note when unreachable)',
    )
    .option('--seed <n>', 'random seed (fault timing and order)')
    .option('--json <file>', 'also write the full report as JSON')
    .action((o: Opts) =>
      runCli(async () => {
        // core/chaos is a dev tool built on the test helpers: loaded only when this command runs (test/architecture).
        const { FULL, QUICK, formatChaosReport, runChaos } = await import('../../chaos/run-chaos.ts');
        // The campaigns' meters speak 'chint': resolved in this run's own registry (built-ins + enabled plugins).
        const profiles = enabledPluginProfiles();
        const base = o.quick ? QUICK : FULL;
        const only = o.only ? new Set(o.only.split(',').map((s) => s.trim())) : null;
        const known = ['driver-faults', 'server-kills', 'broker-outages', 'serial-noise', 'gateway-kills'];
        for (const n of only ?? [])
          if (!known.includes(n)) throw new Error(`--only: unknown campaign ${n} (${known.join(', ')})`);
        const pick = (name: string, v: string | undefined, dflt: number) =>
          only && !only.has(name) ? 0 : count(v, dflt, name);
        const databases = (o.db ? o.db.split(',').map((s) => s.trim()) : base.databases) as Array<
          'sqlite' | 'postgres'
        >;
        for (const d of databases)
          if (d !== 'sqlite' && d !== 'postgres') throw new Error(`--db: sqlite or postgres, got ${d}`);
        const seed = o.seed !== undefined ? count(o.seed, 0, 'seed') : Math.floor(Math.random() * 2 ** 31);
        const report = await runChaos({
          profiles,
          budgetSeconds: count(o.budget, base.budgetSeconds, 'budget'),
          driverFaults: pick('driver-faults', o.driverFaults, base.driverFaults),
          serverKills: pick('server-kills', o.serverKills, base.serverKills),
          brokerOutages: pick('broker-outages', o.brokerOutages, base.brokerOutages),
          noiseBursts: pick('serial-noise', o.noiseBursts, base.noiseBursts),
          gatewayKills: pick('gateway-kills', o.gatewayKills, base.gatewayKills),
          databases,
          quick: !!o.quick,
          seed,
          log: (line) => console.error(line),
        });
        console.log(formatChaosReport(report));
        if (o.json) writeFileSync(o.json, JSON.stringify(report, null, 2) + '\n');
        process.exitCode = report.ok ? 0 : 1;
      }),
    );
}
