/**
 * 判卡: ask every enabled plugin that handles the card type whether the card is theirs. The seed assumes
 * makers never conflict; we check instead of assuming, and refuse to guess when a library did not answer.
 */
import { isMeterHubError } from '../errors/meterhub-error.ts';
import { PUBLIC_ZONE_102_HEX, type CardType } from '../cards/card-types.ts';
import type { CardDriver } from '../driver/card-driver.ts';
import type { Identification } from './plugin-types.ts';
import { CardConflict, CardUnknown, IdentifyIncomplete } from './plugin-errors.ts';

export interface Candidate {
  id: string;
  driver: CardDriver;
}

/** Check102Card takes the public zone only; accept the whole card too. */
export function checkInput(cardType: CardType, data: string): string | { com: number } {
  if (cardType === 'cpu') return { com: Number(data) };
  if (cardType === '102' && data.length > PUBLIC_ZONE_102_HEX) return data.slice(0, PUBLIC_ZONE_102_HEX);
  return data;
}

export async function identifyCard(cardType: CardType, data: string, candidates: Candidate[]): Promise<Identification> {
  const input = checkInput(cardType, data);
  const answers = await Promise.all(
    candidates.map(async (c) => {
      try {
        return { id: c.id, result: await c.driver.check(cardType, input) };
      } catch (error) {
        return { id: c.id, error };
      }
    }),
  );
  const claims: Identification[] = [];
  const failed: Array<{ maker: string; code: string }> = [];
  for (const a of answers) {
    if ('error' in a) {
      // Bad input is the caller's problem whichever maker saw it first.
      if (isMeterHubError(a.error) && a.error.status === 400) throw a.error;
      failed.push({ maker: a.id, code: isMeterHubError(a.error) ? a.error.code : 'ERROR' });
      continue;
    }
    const { rc, oldKey } = a.result;
    if (rc === 0 || rc === 1)
      claims.push({ maker: a.id, kind: rc === 0 ? 'user' : 'tool', ...(oldKey ? { oldKey } : {}) });
  }
  if (claims.length > 1) {
    throw CardConflict(
      { makers: claims.map((c) => c.maker) },
      { zh: claims.map((c) => c.maker).join('、'), en: claims.map((c) => c.maker).join(', ') },
    );
  }
  if (failed.length) {
    throw IdentifyIncomplete(
      { failed, retryAfterSeconds: 5 },
      { zh: failed.map((f) => f.maker).join('、'), en: failed.map((f) => `${f.maker} (${f.code})`).join(', ') },
    );
  }
  const [claim] = claims;
  if (!claim) throw CardUnknown({ cardType, asked: candidates.map((c) => c.id) });
  return claim;
}
