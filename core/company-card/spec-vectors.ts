/**
 * The test vectors of sdk/company-cpu-card.zh-CN.md §12, computed from the TEST master keys in
 * testing/fixtures.ts. The spec holds the same lines between its vector markers; spec-vectors.test.ts fails
 * when the two differ, so the published vectors are always the ones the code computes.
 * Regenerate: `npx tsx core/company-card/spec-vectors.ts`.
 */
import { type CardAlgorithm, blockSize, encryptEcb } from './crypto/block-cipher.ts';
import { cardMac, padMethod2, zeroPad } from './crypto/mac.ts';
import { diversifyOnce } from './crypto/diversify.ts';
import { encodeBcdNumber, encodeSerial } from './card-numbers.ts';
import { type KeyKind, AUTH_KEY_TRIES, deriveCardKey, cardKeyId, usageOf } from './keys.ts';
import { ALGORITHM_CODE } from './crypto/block-cipher.ts';
import {
  type CardInfo,
  type WriteBack,
  encodeCardInfo,
  purchaseBody,
  purchaseMacData,
  writeBackMacData,
  NO_SERIAL,
} from './records.ts';
import { testKeySet, testTransportSet } from './testing/fixtures.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex').toUpperCase();

export const VECTOR_CARD = { cardNo: '880001', serial: 'A1B2C3D4E5F60718' } as const;
const KINDS: KeyKind[] = [
  'cardMaster',
  'maintenance',
  'externalAuth',
  'internalAuth',
  'purchaseMac',
  'writeBackMac',
  'lineProtection',
];

export function vectorLines(alg: CardAlgorithm): string[] {
  const set = testKeySet(1, alg);
  const cardNo8 = encodeBcdNumber(VECTOR_CARD.cardNo, 'cardNo');
  const serial8 = encodeSerial(VECTOR_CARD.serial);
  const p = alg.toUpperCase();
  const out: string[] = [];
  const line = (name: string, value: string) => out.push(`${p}.${name} = ${value}`);
  line('card.no.bcd', hex(cardNo8));
  line('card.serial', hex(serial8));
  const transport = testTransportSet(alg).keys.transport ?? Buffer.alloc(16);
  line('master.transport.v0', hex(transport));
  line(
    'key.transport',
    hex(deriveCardKey(testTransportSet(alg), 'transport', '0', VECTOR_CARD.serial) ?? Buffer.alloc(0)),
  );
  const keys = {} as Record<KeyKind, Buffer>;
  for (const kind of KINDS) {
    const master = set.keys[kind] ?? Buffer.alloc(16);
    line(`master.${kind}.v1`, hex(master));
    line(`step1.${kind}`, hex(diversifyOnce(alg, master, cardNo8)));
    keys[kind] = deriveCardKey(set, kind, VECTOR_CARD.cardNo, VECTOR_CARD.serial) ?? Buffer.alloc(16);
    line(`key.${kind}`, hex(keys[kind]));
  }
  const size = blockSize(alg);
  const chal8 = Buffer.from('1122334455667788', 'hex');
  line('extauth.challenge', hex(chal8));
  line('extauth.cryptogram', hex(encryptEcb(alg, keys.externalAuth, zeroPad(chal8, size))));
  const term = Buffer.from('A0A1A2A3A4A5A6A7', 'hex');
  line('intauth.challenge', hex(term));
  line('intauth.answer', hex(encryptEcb(alg, keys.internalAuth, zeroPad(term, size))));

  const info: CardInfo = {
    cardNo: VECTOR_CARD.cardNo,
    companyCode: '0571',
    meterKind: 1,
    serial: VECTOR_CARD.serial,
    prevSerial: NO_SERIAL,
    issueDate: '20261203',
    keyVersion: 1,
    algorithm: alg,
    reissueCount: 0,
  };
  line('cardinfo', hex(encodeCardInfo(info)));
  const purchase = { gas: 20, count: 1, date: '20261203090000' };
  const macData = purchaseMacData(info, purchase);
  line('purchase.macdata', hex(macData));
  const pmac = cardMac(alg, keys.purchaseMac, macData, Buffer.alloc(size));
  line('purchase.mac', hex(pmac));
  const record = Buffer.concat([purchaseBody(purchase), pmac]);
  line('purchase.record', hex(record));

  const chal4 = Buffer.from('0A0B0C0D', 'hex');
  const header = Buffer.of(0x04, 0xd6, 0x82, 0x00, record.length + 4);
  line('sm.challenge', hex(chal4));
  line('sm.macinput', hex(Buffer.concat([header, record])));
  const smMac = cardMac(alg, keys.lineProtection, Buffer.concat([header, record]), zeroPad(chal4, size));
  line('sm.apdu', hex(Buffer.concat([header, record, smMac])));

  const wb: Omit<WriteBack, 'mac'> = {
    meterNo: '30000001',
    countSeen: 1,
    cumulative: 1234,
    remaining: 766,
    monthStart: '2612',
    months: [1234, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    status: 0,
    lastCode: 0,
    date: '20261203100000',
  };
  const wbData = writeBackMacData(info, wb);
  line('writeback.macdata', hex(wbData));
  line('writeback.mac', hex(cardMac(alg, keys.writeBackMac, wbData, Buffer.alloc(size))));

  // WRITE KEY of the external authentication key, under the maintenance key, with challenge 0A0B0C0D
  const rec = Buffer.concat([
    Buffer.of(cardKeyId('externalAuth'), usageOf('externalAuth'), 1, ALGORITHM_CODE[alg], AUTH_KEY_TRIES),
    keys.externalAuth,
  ]);
  const enc = encryptEcb(alg, keys.maintenance, padMethod2(rec, size));
  const wkHeader = Buffer.of(0x84, 0xd4, 0x00, 0x02, enc.length + 4);
  const wkMac = cardMac(alg, keys.maintenance, Buffer.concat([wkHeader, enc]), zeroPad(chal4, size));
  line('writekey.record', hex(rec));
  line('writekey.apdu', hex(Buffer.concat([wkHeader, enc, wkMac])));
  return out;
}

export function vectorBlock(): string {
  return [...vectorLines('sm4'), ...vectorLines('3des')].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(vectorBlock() + '\n');
}
