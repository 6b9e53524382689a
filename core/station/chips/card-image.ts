/**
 * Card images: an emulated chip's whole state as JSON (hex memory, counters, protection bits, serial),
 * saved to and loaded from files so a simulated card survives restarts and can be inspected by tests.
 * Images hold the card's secrets (PSC, SC, erase keys): `redactImage` is what any display or API shows.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { At88sc102, ZONE, type At88sc102Image } from './at88sc102.ts';
import { isHex } from './hex.ts';
import { Sle4442, type Sle4442Image } from './sle4442.ts';

export type CardImage = Sle4442Image | At88sc102Image;
export type MemoryChip = Sle4442 | At88sc102;

export const IMAGE_FORMAT = 'meterhub-card-image/1';

/** Derived facts shown next to an image (never read back). */
export interface ImageSummary {
  chip: CardImage['chip'];
  serial: string;
  locked: boolean;
  attemptsLeft: number;
  ec2Left?: number;
  ec2Enabled?: boolean;
  securityLevel?: 1 | 2;
}

export function chipFromImage(image: CardImage): MemoryChip {
  validateImage(image);
  return image.chip === 'sle4442' ? Sle4442.fromImage(image) : At88sc102.fromImage(image);
}

export function summarize(chip: MemoryChip): ImageSummary {
  if (chip instanceof Sle4442) {
    return { chip: chip.chip, serial: chip.serial, locked: chip.locked, attemptsLeft: chip.attemptsLeft };
  }
  return {
    chip: chip.chip,
    serial: chip.serial,
    locked: chip.locked,
    attemptsLeft: chip.scAttemptsLeft,
    ec2Left: chip.ec2Left,
    ec2Enabled: chip.ec2Enabled,
    securityLevel: chip.securityLevel,
  };
}

/** Throws a plain Error naming the bad field (never its value). */
export function validateImage(x: unknown): asserts x is CardImage {
  if (typeof x !== 'object' || x === null) throw new Error('image must be an object');
  const o = x as Record<string, unknown>;
  if (o.format !== IMAGE_FORMAT) throw new Error(`image.format must be ${IMAGE_FORMAT}`);
  if (typeof o.serial !== 'string' || o.serial.length === 0 || o.serial.length > 64)
    throw new Error('image.serial must be a string of 1-64 characters');
  if (o.chip === 'sle4442') {
    if (typeof o.main !== 'string' || !isHex(o.main, 256)) throw new Error('image.main must be 512 hex');
    if (typeof o.protection !== 'string' || !isHex(o.protection, 4)) throw new Error('image.protection must be 8 hex');
    if (typeof o.psc !== 'string' || !isHex(o.psc, 3)) throw new Error('image.psc must be 6 hex');
    if (!Number.isInteger(o.errorCounter) || (o.errorCounter as number) < 0 || (o.errorCounter as number) > 7)
      throw new Error('image.errorCounter must be 0..7');
    return;
  }
  if (o.chip === 'at88sc102') {
    if (typeof o.memory !== 'string' || !isHex(o.memory, 196)) throw new Error('image.memory must be 392 hex');
    return;
  }
  throw new Error('image.chip must be sle4442 or at88sc102');
}

/** The image with PSC / SC / erase keys masked ("**" per byte): safe for logs, APIs and snapshots. */
export function redactImage(image: CardImage): Record<string, unknown> {
  if (image.chip === 'sle4442') return { ...image, psc: '******' };
  const hex = image.memory.split('');
  for (const z of [ZONE.SC, ZONE.EZ1, ZONE.EZ2]) {
    for (let i = z[0] * 2; i < z[1] * 2; i++) hex[i] = '*';
  }
  return { ...image, memory: hex.join('') };
}

export async function loadImageFile(path: string): Promise<CardImage> {
  const parsed: unknown = JSON.parse(await readFile(path, 'utf8'));
  validateImage(parsed);
  return parsed;
}

/** Atomic save (write to a temp file, then rename). */
export async function saveImageFile(path: string, image: CardImage): Promise<void> {
  validateImage(image);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(image, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, path);
}
