/**
 * TEST KEYS ONLY — published in the spec's vectors, never to be loaded into a real PSAM or HSM.
 * A company card world in one process: master key sets, blank cards as a supplier delivers them, a counter
 * PSAM, meters with their ESAMs.
 */
import { type CardAlgorithm } from '../crypto/block-cipher.ts';
import { type KeyKind, type MasterKeySet, deriveCardKey } from '../keys.ts';
import { CompanyCos } from '../emulator/company-cos.ts';
import { PsamEmulator } from '../emulator/psam.ts';
import { MeterSimulator } from '../emulator/meter-simulator.ts';
import { CardSlot, SamSlot } from '../terminal/slots.ts';
import { CounterTerminal } from '../terminal/counter.ts';

const KINDS: KeyKind[] = [
  'cardMaster',
  'maintenance',
  'externalAuth',
  'internalAuth',
  'purchaseMac',
  'writeBackMac',
  'lineProtection',
];

/** Test master keys: byte i of kind k, version v is (0x11 * (k + 1) + i + v) & 0xff — obviously not secret. */
export function testKeySet(version: number, algorithm: CardAlgorithm): MasterKeySet {
  const keys: MasterKeySet['keys'] = {};
  KINDS.forEach((kind, k) => {
    keys[kind] = Buffer.from(Array.from({ length: 16 }, (_, i) => (0x11 * (k + 1) + i + version) & 0xff));
  });
  return { version, algorithm, keys };
}

/** The card supplier's transport key (version 0). */
export function testTransportSet(algorithm: CardAlgorithm): MasterKeySet {
  return { version: 0, algorithm, keys: { transport: Buffer.from('000102030405060708090A0B0C0D0E0F', 'hex') } };
}

export function blankCard(serial: string, algorithm: CardAlgorithm, protocol: 'T0' | 'T1' = 'T0'): CompanyCos {
  const transportKey = deriveCardKey(testTransportSet(algorithm), 'transport', '0', serial);
  if (!transportKey) throw new Error('no transport key');
  return new CompanyCos({ serial, transportKey, algorithm, protocol });
}

export interface World {
  algorithm: CardAlgorithm;
  psam: PsamEmulator;
  counterFor(card: CompanyCos): CounterTerminal;
  meter(meterNo: string, versions?: number[]): MeterSimulator;
  insertInMeter(meter: MeterSimulator, card: CompanyCos, now: string): ReturnType<MeterSimulator['insert']>;
}

export function world(algorithm: CardAlgorithm, opts: { versions?: number[]; protocol?: 'T0' | 'T1' } = {}): World {
  const versions = opts.versions ?? [1];
  const sets = [testTransportSet(algorithm), ...versions.map((v) => testKeySet(v, algorithm))];
  const psam = new PsamEmulator({ role: 'counter', keySets: sets, protocol: opts.protocol });
  return {
    algorithm,
    psam,
    counterFor: (card) => new CounterTerminal(new CardSlot(card), new SamSlot(psam), card.reset()),
    meter: (meterNo, meterVersions = versions) => {
      const esam = new PsamEmulator({ role: 'meter', keySets: meterVersions.map((v) => testKeySet(v, algorithm)) });
      return new MeterSimulator(meterNo, new SamSlot(esam));
    },
    insertInMeter: (meter, card, now) => meter.insert(new CardSlot(card), card.reset(), now),
  };
}
