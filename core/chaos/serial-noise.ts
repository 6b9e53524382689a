/**
 * Line noise on a serial meter bus: the bus master polls simulated meters (a real pty pair, paced at 9600
 * 8E1, one dead meter) while a NoiseInjector fires noise bursts at random moments. Afterwards:
 *   every live meter was still read (during the noise, and again once it stopped);
 *   no wrong reading stored — each stored reading equals a reply a meter really sent (the injector's clean tap);
 *   corrupted frames rejected — the decoder's frame errors, next to the replies the bursts damaged.
 */
import type { MeterHubDatabase } from '../db/database.ts';
import { createReadingPipeline, type ReadingPipeline } from '../readings/pipeline.ts';
import { tempSqlite } from '../readings/testing/fixtures.ts';
import { BusSimulator, type SimMeterConfig } from '../../gateways/sim/bus-simulator.ts';
import { BusMaster } from '../../gateways/serial/bus-master.ts';
import { SerialLink } from '../../gateways/serial/serial-link.ts';
import { openPtyPair } from '../../gateways/sim/pty.ts';
import { NoiseInjector } from './noise-relay.ts';
import { budgetSpent, newReport, sleep, type CampaignContext, type CampaignReport } from './types.ts';

const BAUD = 9600;
// Simulator in this process on a shared 2-core box: allow host latency like a slow serial server (as bus.test.ts).
const TIMING = { adapterLatencyMs: 150 };
/** Each live meter gets this many sweeps under noise to be read (the check is "read during the noise"). */
const MIN_SWEEPS_UNDER_NOISE = 3;

export async function serialNoiseCampaign(bursts: number, ctx: CampaignContext): Promise<CampaignReport> {
  const report = newReport('serial-noise', bursts);
  const n = ctx.quick ? 6 : 12;
  const meters: SimMeterConfig[] = Array.from({ length: n }, (_, i) => ({
    address: `3900${String(i + 1).padStart(10, '0')}`,
    kind: i === 2 ? 'dead' : 'normal',
  }));
  const live = meters.filter((m) => m.kind !== 'dead').map((m) => m.address);
  const chint = ctx.profiles.get('chint');
  const pty = await openPtyPair();
  const sim = new BusSimulator({ path: pty.simPath, baudRate: BAUD, profile: chint, meters });
  const relay = new NoiseInjector(sim, ctx.rand, chint);
  const link = new SerialLink({ path: pty.gatewayPath, baudRate: BAUD, profile: chint, timing: TIMING });
  const temp = tempSqlite();
  let db: MeterHubDatabase | null = null;
  let pipeline: ReadingPipeline | null = null;
  try {
    await sim.open();
    await link.open();
    db = temp.open();
    pipeline = createReadingPipeline({ database: db, restFeed: true });
    await pipeline.start();
    const master = new BusMaster({
      link,
      meters: meters.map((m) => ({ address: m.address })),
      pipeline,
      retries: 2,
      timing: TIMING,
    });
    const readDuringNoise = new Map<string, number>();
    let sweeps = 0;
    let missedPolls = 0;
    let noiseOn = true;
    const noise = (async () => {
      for (let i = 0; i < bursts; i++) {
        // Bursts spread over at least MIN_SWEEPS_UNDER_NOISE sweeps: with the quick run's few bursts the noise
        // could otherwise be over within one sweep, and one unlucky sweep is not a meter that cannot be read.
        while (sweeps < Math.floor((i * MIN_SWEEPS_UNDER_NOISE) / bursts) && !budgetSpent(ctx, 1)) await sleep(20);
        await sleep(150 + Math.floor(ctx.rand() * 500));
        if (budgetSpent(ctx, i)) {
          report.notes.push(`time budget reached after ${i} of ${bursts} bursts`);
          break;
        }
        await relay.burst(20 + Math.floor(ctx.rand() * 100));
        report.injected++;
      }
      noiseOn = false;
    })();
    const readBy = (s: { address: string; successes: number }[]) => new Map(s.map((x) => [x.address, x.successes]));
    while (noiseOn) {
      const before = readBy(master.stats());
      await master.sweep();
      sweeps++;
      const after = readBy(master.stats());
      for (const a of live) {
        const got = (after.get(a) ?? 0) - (before.get(a) ?? 0);
        if (got > 0) readDuringNoise.set(a, (readDuringNoise.get(a) ?? 0) + got);
        else missedPolls++;
      }
    }
    await noise;
    // Quiet line: every live meter must come back (a meter that failed a whole poll is re-probed with backoff).
    const recovered = new Set<string>();
    for (let s = 0; s < 6 && recovered.size < live.length; s++) {
      const before = readBy(master.stats());
      await master.sweep();
      const after = readBy(master.stats());
      for (const a of live) if ((after.get(a) ?? 0) > (before.get(a) ?? 0)) recovered.add(a);
    }
    await pipeline.drained(30_000);

    const rows = await db.db.selectFrom('readings').select(['meter_id', 'cumulative', 'meter_time']).execute();
    const wrong = rows.filter((r) => !relay.truth.has(`${r.meter_id}|${r.cumulative}|${r.meter_time}`));
    for (const w of wrong.slice(0, 5))
      report.violations.push(
        `wrong reading stored: ${w.meter_id} ${w.cumulative} at ${w.meter_time} — no meter sent it`,
      );
    const neverRead = live.filter((a) => !readDuringNoise.has(a));
    if (neverRead.length) report.violations.push(`live meters never read during the noise: ${neverRead.join(', ')}`);
    const notBack = live.filter((a) => !recovered.has(a));
    if (notBack.length) report.violations.push(`live meters not read again after the noise: ${notBack.join(', ')}`);
    const stats = master.stats();
    report.figures = {
      bursts: report.injected,
      sweepsUnderNoise: sweeps,
      liveMeters: live.length,
      liveMetersRead: live.length - neverRead.length,
      liveMetersRecovered: recovered.size,
      missedPolls,
      readingsStored: rows.length,
      wrongReadingsStored: wrong.length,
      repliesHitByNoise: relay.counters.framesHit,
      frameErrorsRejected: link.counters.frameErrors,
      badFramesAtMaster: stats.reduce((s, x) => s + x.badFrames, 0),
      retries: stats.reduce((s, x) => s + Math.max(0, x.attempts - x.polls), 0),
      simRequests: sim.counters.requests,
      simReplies: sim.counters.replies,
      cleanReplies: relay.counters.cleanReplies,
      timeouts: stats.reduce((s, x) => s + x.timeouts, 0),
      bytesDropped: relay.counters.bytesDropped,
      bytesInserted: relay.counters.bytesInserted,
      staleFlushes: link.counters.staleFlushes,
    };
    report.notes.push(
      `${n} meters (1 dead) at ${BAUD} 8E1 ; bursts 20–120 ms on the meters' transmit side: 25 % of reply bytes lost, 20 % followed by a spurious byte, glitch bytes on the line every 3–13 ms (30 % with a stray 68H)`,
    );
  } finally {
    await pipeline?.close().catch(() => {});
    await db?.close().catch(() => {});
    await temp.drop();
    await link.close();
    await sim.close();
    relay.stop();
    await pty.close();
  }
  return report;
}
