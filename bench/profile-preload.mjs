// Preloaded into driver hosts by `bench/card-purchase.ts --profile` (NODE_OPTIONS forbids --cpu-prof):
// profiles the whole process and writes the profile synchronously when it exits.
import { Session } from 'node:inspector';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.MH_BENCH_HOST_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  process.once('exit', () => {
    // A same-thread session answers synchronously, so the profile exists before the process ends.
    session.post('Profiler.stop', (err, res) => {
      if (err) return;
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `host-${process.pid}.cpuprofile`), JSON.stringify(res.profile));
    });
  });
}
