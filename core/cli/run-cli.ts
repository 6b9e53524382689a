/**
 * Runs a CLI action: a MeterHubError prints its code and Chinese + English text and exits 2; anything
 * else is a bug and exits 1 with the stack. Commands never print secrets in errors.
 */
import { isMeterHubError } from '../errors/meterhub-error.ts';

export async function runCli(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (e) {
    if (isMeterHubError(e)) {
      console.error(`错误 error [${e.code}]: ${e.zh}\n  ${e.en}`);
      process.exitCode = 2;
      return;
    }
    console.error(e);
    process.exitCode = 1;
  }
}
