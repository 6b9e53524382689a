/**
 * A stand-in "server" for the test that kills the supervising process: it starts a driver for the library
 * given as argv[2], prints the host's pid and waits to be killed.
 */
import { createCardDriver } from '../driver-client.ts';

const driver = createCardDriver({ libraryPath: process.argv[2]!, startTimeoutMs: 60_000 });
const info = await driver.info();
process.stdout.write(`hostPid=${info.pid}\n`);
setInterval(() => undefined, 60_000);
