/**
 * What billing saw, compared with what the meters sent (by reading id = Idempotency-Key):
 *   lost       — a reading a meter sent (and the broker acknowledged) that billing never got;
 *   duplicated — a reading billing would book twice: the same (meter, meter time) under two ids, the same id
 *                with a different body, or an id no meter sent.
 * Raw redeliveries of the same id (at-least-once delivery) are absorbed by the key and only counted.
 */
import type { WebhookBilling } from '../../gateways/testing/billing.ts';

export interface BillingFigures {
  expected: number;
  billed: number;
  lost: number;
  duplicated: number;
  redeliveriesAbsorbed: number;
}

export function auditWebhook(
  expected: Set<string>,
  billing: WebhookBilling,
  violations: string[],
  label = 'webhook',
): BillingFigures {
  let lost = 0;
  for (const id of expected) if (!billing.byKey.has(id)) lost++;
  let phantom = 0;
  const byReading = new Map<string, number>();
  for (const [id, v] of billing.byKey) {
    if (!expected.has(id)) phantom++;
    try {
      const b = JSON.parse(v.body) as { meterId: string; meterTime: string | null };
      const k = `${b.meterId}|${b.meterTime}`;
      byReading.set(k, (byReading.get(k) ?? 0) + 1);
    } catch {
      phantom++;
    }
  }
  const sameReadingTwice = [...byReading.values()].reduce((n, c) => n + (c > 1 ? c - 1 : 0), 0);
  const duplicated = phantom + sameReadingTwice + billing.conflicts;
  if (lost) violations.push(`${label}: ${lost} readings lost (billing never got them)`);
  if (phantom) violations.push(`${label}: ${phantom} readings billing got that no meter sent`);
  if (sameReadingTwice) violations.push(`${label}: ${sameReadingTwice} readings billed twice under different ids`);
  if (billing.conflicts)
    violations.push(`${label}: ${billing.conflicts} redeliveries with a different body for the same id`);
  return {
    expected: expected.size,
    billed: billing.byKey.size,
    lost,
    duplicated,
    redeliveriesAbsorbed: billing.duplicates,
  };
}

export function countLostById(
  expected: Set<string>,
  got: Map<string, number>,
): { lost: number; phantom: number; redeliveries: number } {
  let lost = 0;
  let phantom = 0;
  let redeliveries = 0;
  for (const id of expected) if (!got.has(id)) lost++;
  for (const [id, n] of got) {
    if (!expected.has(id)) phantom++;
    redeliveries += n - 1;
  }
  return { lost, phantom, redeliveries };
}
