/**
 * `meterhub simulate bus|mqtt`: meter simulators that use the same interfaces as real parts.
 *   bus:  a CJ/T 188 meter bus on a socat pseudo-terminal pair, paced at the baud rate, with dead, slow
 *         and noisy meters and an optional collector (抄表器). The gateway opens --link.
 *   mqtt: networked meters and concentrators publishing uplinks and answering valve downlinks.
 */
import type { Command } from 'commander';
import { runCli } from '../run-cli.ts';
import { enabledPluginProfiles } from '../../plugins/plugin-profiles.ts';

const addr = (base: number, i: number) => String(base + i).padStart(14, '0');

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

export function register(program: Command): void {
  const cmd = program.command('simulate').description('表具模拟器 / meter simulators (serial bus, MQTT)');

  cmd
    .command('bus')
    .description('CJ/T 188 串口总线模拟（socat 伪终端）/ CJ/T 188 meter bus on a socat pty pair')
    .option('--link <path>', 'pty path the gateway opens', '/tmp/meterhub-bus')
    .option('--sim-link <path>', 'pty path the simulator uses', '/tmp/meterhub-bus-sim')
    .option('--baud <n>', 'baud rate (8E1)', '2400')
    .option('--profile <name>', 'dialect profile', 'chint')
    .option('--meters <n>', 'number of meters', '10')
    .option('--first <n>', 'first meter address (number)', '1')
    .option('--dead <n>', 'how many meters never answer', '0')
    .option('--slow <n>', 'how many meters answer late in the window', '0')
    .option('--noisy <n>', 'how many meters have line noise', '0')
    .option('--collector <address>', 'add a collector (抄表器) with this address')
    .option('--collector-meters <n>', 'meters stored in the collector', '10')
    .option('--records <n>', 'records per collector meter', '5')
    .action((o: Record<string, string>) =>
      runCli(async () => {
        // The dialect is resolved in this process's own registry (built-ins + enabled plugins) and passed as an object.
        const profile = enabledPluginProfiles().get(o.profile!);
        const n = Number(o.meters);
        const first = Number(o.first);
        const dead = Number(o.dead),
          slow = Number(o.slow),
          noisy = Number(o.noisy);
        // Simulators are tools, outside the production graph: loaded only when this command runs (test/architecture).
        const { BusSimulator } = await import('../../../gateways/sim/bus-simulator.ts');
        const { openPtyPair } = await import('../../../gateways/sim/pty.ts');
        type Kind = 'dead' | 'slow' | 'noisy' | 'normal';
        const meters: Array<{ address: string; kind: Kind }> = Array.from({ length: n }, (_, i) => {
          const kind = i < dead ? 'dead' : i < dead + slow ? 'slow' : i < dead + slow + noisy ? 'noisy' : 'normal';
          return { address: addr(first, i), kind };
        });
        const pty = await openPtyPair({ gatewayPath: o.link, simPath: o['simLink'] });
        const sim = new BusSimulator({
          path: pty.simPath,
          baudRate: Number(o.baud),
          profile,
          meters,
          ...(o.collector
            ? {
                collector: {
                  address: o.collector,
                  meters: Array.from({ length: Number(o['collectorMeters']) }, (_, i) => addr(90_000_000, i)),
                  recordsPerMeter: Number(o.records),
                },
              }
            : {}),
        });
        await sim.open();
        console.log(
          JSON.stringify({
            event: 'bus-ready',
            gatewayLink: pty.gatewayPath,
            baud: Number(o.baud),
            meters: meters.map((m) => ({ address: m.address, kind: m.kind })),
            collector: o.collector ?? null,
          }),
        );
        await untilSignal();
        console.log(
          JSON.stringify({ event: 'stopped', requests: sim.counters.requests, replies: sim.counters.replies }),
        );
        await sim.close();
        await pty.close();
      }),
    );

  cmd
    .command('mqtt')
    .description('MQTT 表具与集中器模拟 / MQTT meters and concentrators')
    .option('--url <url>', 'broker URL', 'mqtt://127.0.0.1:1883')
    .option('--profile <name>', 'dialect profile', 'chint')
    .option('--prefix <topic>', 'topic prefix', 'meterhub/v1')
    .option('--meters <n>', 'networked meters', '5')
    .option('--concentrators <n>', 'concentrators', '1')
    .option('--per-concentrator <n>', 'meters per concentrator', '50')
    .option('--batch <n>', 'frames per concentrator uplink', '20')
    .option('--rounds <n>', 'readings per meter (0 = until stopped)', '10')
    .option('--interval <ms>', 'pause between rounds', '1000')
    .action((o: Record<string, string>) =>
      runCli(async () => {
        const profile = enabledPluginProfiles().get(o.profile!);
        const meters = Array.from({ length: Number(o.meters) }, (_, i) => addr(1, i));
        const concentrators = Array.from({ length: Number(o.concentrators) }, (_, c) => ({
          id: `conc${c + 1}`,
          meters: Array.from({ length: Number(o['perConcentrator']) }, (_, i) => addr(10_000 * (c + 1), i)),
        }));
        const { MqttSimulator } = await import('../../../gateways/sim/mqtt-simulator.ts');
        const sim = new MqttSimulator({
          url: o.url!,
          profile,
          topicPrefix: o.prefix,
          meters,
          concentrators,
          batch: Number(o.batch),
        });
        await sim.connect();
        console.log(
          JSON.stringify({ event: 'mqtt-sim-ready', meters: meters.length, concentrators: concentrators.length }),
        );
        let stop = false;
        void untilSignal().then(() => {
          stop = true;
        });
        const rounds = Number(o.rounds);
        for (let r = 0; (rounds === 0 || r < rounds) && !stop; r++) {
          await sim.run(1);
          if (Number(o.interval) > 0) await new Promise((res) => setTimeout(res, Number(o.interval)));
        }
        await sim.settled();
        console.log(
          JSON.stringify({
            event: 'done',
            readings: sim.allIds.size,
            acked: sim.counters.acked,
            downlinks: sim.counters.downlinks,
          }),
        );
        await sim.close();
      }),
    );
}
