/**
 * External servers some tests need: PostgreSQL (127.0.0.1:5432) and Mosquitto (127.0.0.1:1883).
 * In CI (CI=true) a missing server fails the test; elsewhere the test is reported as skipped, with the
 * reason, so a skip is never counted as a pass. README "Tests that need servers" lists which ones.
 */
import { createConnection } from 'node:net';

export const POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const MQTT_URL = process.env.TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';

function portOpen(host: string, port: number, timeoutMs = 1500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

const cache = new Map<string, Promise<boolean>>();

/** Resolves true when the server is reachable; in CI an unreachable server throws instead. */
export async function serviceAvailable(name: 'postgres' | 'mosquitto'): Promise<boolean> {
  const url = new URL(name === 'postgres' ? POSTGRES_URL : MQTT_URL);
  const port = Number(url.port || (name === 'postgres' ? 5432 : 1883));
  if (!cache.has(name)) cache.set(name, portOpen(url.hostname, port));
  const ok = await cache.get(name)!;
  if (!ok && process.env.CI === 'true') {
    throw new Error(`${name} is not reachable at ${url.host}; CI requires it (see README "Tests that need servers")`);
  }
  return ok;
}
