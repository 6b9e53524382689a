/**
 * What a call ended with, as one comparable string: 'OK', the MeterHubError's code, or the error's text. Tests
 * compare outcomes of many calls at once (`expect(await Promise.all(calls.map(outcomeOf))).toEqual([...])`).
 */
import { isMeterHubError } from '../errors/meterhub-error.ts';

export async function outcomeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (e) {
    return isMeterHubError(e) ? e.code : String(e);
  }
}
