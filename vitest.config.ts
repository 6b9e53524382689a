import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Native libraries and child processes: forks isolate a crash to one test file.
    pool: 'forks',
    include: [
      'bench/**/*.test.ts',
      'core/**/*.test.ts',
      'gateways/**/*.test.ts',
      'plugins/**/*.test.ts',
      'sdk/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    // Bundled plugins' dialect profiles in telemetry's process registry (core/plugins/plugin-profiles.ts).
    setupFiles: ['core/plugins/bundled-profiles.test-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // expect.poll waits for a condition; its timeout is only a hang guard, never an assertion on time. Vitest's 1 s
    // default failed the console e2e dead-letter replay under two CPU hogs (npm run test:loaded): the list emptied,
    // just later. A poll still fails when the condition never comes.
    expect: { poll: { timeout: 20_000 } },
    // The Tancy bridge tests crash Mono on purpose; without this every crash leaves a mono_crash.*.json in the cwd.
    env: { MONO_CRASH_NOFILE: '1' },
  },
});
