/**
 * The mwic stand-in library's card state file (替身库, MeterHub's format; see mwic_standin.c): key=value lines
 * named by MWIC_STANDIN_STATE. Tests use it to insert, remove and inspect cards and to inject faults.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { CardImage } from '../../chips/card-image.ts';
import { validateImage } from '../../chips/card-image.ts';

export interface StandinState {
  reader: 'ok' | 'gone';
  present: boolean;
  /** Insertion counter: a new value = a new insertion (power-on) for the library. */
  insert: number;
  type: '4442' | '102' | 'cpu' | 'unknown' | '';
  serial: string;
  main: string;
  prot: string;
  ec: number;
  psc: string;
  memory: string;
  atr: string;
  /** -1 = off; N = the card leaves when the (N+1)th EEPROM write is attempted. */
  pullAfter: number;
  chk4442: number;
  chk102: number;
  rsct: 'bits' | 'count';
  samframe: 't1' | 'raw';
  sams: [boolean, boolean, boolean];
}

export function emptyState(): StandinState {
  return {
    reader: 'ok',
    present: false,
    insert: 0,
    type: '',
    serial: '',
    main: 'FF'.repeat(256),
    prot: 'FFFFFFFF',
    ec: 7,
    psc: 'FFFFFF',
    memory: 'FF'.repeat(196),
    atr: '',
    pullAfter: -1,
    chk4442: 21,
    chk102: 51,
    rsct: 'bits',
    samframe: 't1',
    sams: [false, false, false],
  };
}

export function parseState(text: string): StandinState {
  const s = emptyState();
  for (const line of text.split(/\r?\n/)) {
    const eq = line.indexOf('=');
    if (eq < 0 || line.startsWith('#')) continue;
    const k = line.slice(0, eq);
    const v = line.slice(eq + 1);
    switch (k) {
      case 'reader':
        s.reader = v === 'gone' ? 'gone' : 'ok';
        break;
      case 'present':
        s.present = v === '1';
        break;
      case 'insert':
        s.insert = Number(v);
        break;
      case 'type':
        s.type = v as StandinState['type'];
        break;
      case 'serial':
        s.serial = v;
        break;
      case 'main':
        s.main = v;
        break;
      case 'prot':
        s.prot = v;
        break;
      case 'ec':
        s.ec = Number(v);
        break;
      case 'psc':
        s.psc = v;
        break;
      case 'memory':
        s.memory = v;
        break;
      case 'atr':
        s.atr = v;
        break;
      case 'pull_after':
        s.pullAfter = Number(v);
        break;
      case 'chk4442':
        s.chk4442 = Number(v);
        break;
      case 'chk102':
        s.chk102 = Number(v);
        break;
      case 'rsct':
        s.rsct = v === 'count' ? 'count' : 'bits';
        break;
      case 'samframe':
        s.samframe = v === 'raw' ? 'raw' : 't1';
        break;
      case 'sam1':
      case 'sam2':
      case 'sam3':
        s.sams[Number(k[3]) - 1] = v === '1';
        break;
      default:
        break;
    }
  }
  return s;
}

export function formatState(s: StandinState): string {
  return [
    '# MeterHub mwic stand-in card state (替身库)',
    `reader=${s.reader}`,
    `present=${s.present ? 1 : 0}`,
    `insert=${s.insert}`,
    `type=${s.type}`,
    `serial=${s.serial}`,
    `main=${s.main}`,
    `prot=${s.prot}`,
    `ec=${s.ec}`,
    `psc=${s.psc}`,
    `memory=${s.memory}`,
    `atr=${s.atr}`,
    `pull_after=${s.pullAfter}`,
    `chk4442=${s.chk4442}`,
    `chk102=${s.chk102}`,
    `rsct=${s.rsct}`,
    `samframe=${s.samframe}`,
    ...s.sams.map((on, i) => `sam${i + 1}=${on ? 1 : 0}`),
    '',
  ].join('\n');
}

export function readState(path: string): StandinState {
  return parseState(readFileSync(path, 'utf8'));
}

export function writeState(path: string, s: StandinState): void {
  const tmp = `${path}.ts.tmp`;
  writeFileSync(tmp, formatState(s), { mode: 0o600 });
  renameSync(tmp, path);
}

/** Puts a memory-card image into the slot (a new insertion). */
export function insertImage(s: StandinState, image: CardImage): StandinState {
  validateImage(image);
  const next = { ...s, present: true, insert: s.insert + 1, serial: image.serial };
  if (image.chip === 'sle4442') {
    return { ...next, type: '4442', main: image.main, prot: image.protection, ec: image.errorCounter, psc: image.psc };
  }
  return { ...next, type: '102', memory: image.memory };
}

/** The image of the memory card in (or last removed from) the slot. */
export function stateToImage(s: StandinState): CardImage | null {
  if (s.type === '4442') {
    return {
      format: 'meterhub-card-image/1',
      chip: 'sle4442',
      serial: s.serial,
      main: s.main,
      protection: s.prot,
      errorCounter: s.ec,
      psc: s.psc,
    };
  }
  if (s.type === '102')
    return { format: 'meterhub-card-image/1', chip: 'at88sc102', serial: s.serial, memory: s.memory };
  return null;
}
