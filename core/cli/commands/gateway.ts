/**
 * `meterhub gateway --config <file.json>`: runs a remote-read gateway (serial buses, collectors, MQTT)
 * feeding the reading pipeline and its billing sinks. `meterhub gateway valve` sends one valve command.
 * Config format: gateways/gateway.ts (GatewayConfig) and docs/protocol/mqtt.md.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { createGateway, validateGatewayConfig, type ProfileLookup } from '../../../gateways/gateway.ts';
import { GatewayConfigInvalid, MeterUnknown } from '../../readings/errors.ts';
import { runCli } from '../run-cli.ts';
import { enabledPluginProfiles } from '../../plugins/plugin-profiles.ts';

function loadConfig(path: string, profiles: ProfileLookup) {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw GatewayConfigInvalid(
      { path },
      { zh: `无法读取 ${path}`, en: `cannot read ${path}: ${(e as Error).message}` },
    );
  }
  return validateGatewayConfig(raw, profiles);
}

export function register(program: Command): void {
  const cmd = program
    .command('gateway')
    .description('远传网关（串口/抄表器/MQTT）/ remote-read gateway (serial, collector, MQTT)');

  cmd
    .command('run', { isDefault: true })
    .description('运行网关 / run the gateway')
    .requiredOption('-c, --config <file>', 'gateway config JSON')
    .option('--stats-every <ms>', 'print sink/meter stats as JSON lines every N ms (0 = never)', '0')
    .action((o: { config: string; statsEvery: string }) =>
      runCli(async () => {
        // This process's own dialect registry (built-ins + enabled plugins), handed to the gateway it runs.
        const profiles = enabledPluginProfiles();
        // With `registry` in the config the gateway builds the registry's directory (quarantine) itself.
        const gw = createGateway(loadConfig(o.config, profiles), { profiles });
        await gw.start();
        console.log(
          JSON.stringify({
            event: 'started',
            gatewayId: gw.config.gatewayId,
            pid: process.pid,
            database: gw.database.location,
          }),
        );
        const every = Number(o.statsEvery);
        const timer =
          every > 0
            ? setInterval(async () => console.log(JSON.stringify({ event: 'stats', ...(await gw.stats()) })), every)
            : null;
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        if (timer) clearInterval(timer);
        await gw.stop();
        console.log(JSON.stringify({ event: 'stopped' }));
      }),
    );

  cmd
    .command('valve')
    .description('发送阀门命令 / send a valve command (open|close) through the configured transport')
    .requiredOption('-c, --config <file>', 'gateway config JSON')
    .requiredOption('--meter <address>', '14-digit meter address')
    .requiredOption('--action <open|close>', 'open or close')
    .option('--timeout <ms>', 'reply timeout', '30000')
    .action((o: { config: string; meter: string; action: string; timeout: string }) =>
      runCli(async () => {
        const profiles = enabledPluginProfiles();
        if (o.action !== 'open' && o.action !== 'close')
          throw GatewayConfigInvalid(
            { action: o.action },
            { zh: 'action 必须是 open 或 close', en: 'action must be open or close' },
          );
        const cfg = loadConfig(o.config, profiles);
        const gw = createGateway(
          {
            ...cfg,
            serial: (cfg.serial ?? []).map((s) => ({ ...s, intervalMs: 24 * 3600_000, collectors: [] })),
          },
          { profiles },
        );
        await gw.start();
        try {
          const bus = gw.buses.find((b) => b.master.meterStats(o.meter));
          if (!bus && !gw.mqtt) throw MeterUnknown({ meter: o.meter });
          const result = bus
            ? await bus.master.valve(o.meter, o.action)
            : await gw.mqtt!.valve(o.meter, o.action, Number(o.timeout));
          console.log(JSON.stringify(result));
        } finally {
          await gw.stop();
        }
      }),
    );
}
