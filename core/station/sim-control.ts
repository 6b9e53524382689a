/**
 * Control of the simulated reader (`--reader sim`) for tests, demos and counter training: insert a blank or
 * imaged card, remove it, show its raw image (passwords masked), put a PSAM in or out, inject faults, and a
 * stand-in meter (替身表) that reads a purchase card and writes back the way a meter does.
 *
 * The simulated CPU card lives where the Tancy stand-in library (替身库) keeps it: a text file per port under
 * METERHUB_SIM_CPU_DIR ("card=0|1\npsam=0|1\ndata=<512 hex>", sdk/reference/gascard_ref.c), so the library
 * the station calls sees the same card as the reader.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { At88sc102 } from './chips/at88sc102.ts';
import { redactImage, validateImage, type CardImage } from './chips/card-image.ts';
import { fromHex, isHex, toHex } from './chips/hex.ts';
import { Sle4442 } from './chips/sle4442.ts';
import type { SimReader } from './readers/sim/sim-reader.ts';
import { StationBadInput } from './station-errors.ts';
import { environment } from '../config/environment.ts';

export interface SimInsertBody {
  cardType: '4442' | '102' | 'cpu';
  /** 4442: 512 hex main memory; 102: 392 hex whole card, or 300 hex (public zone + zone 1 + zone 2); cpu: 512 hex. */
  image?: string;
  /** 4442 only: the PSC of the imaged card (default FFFFFF). 102 keeps its SC inside the image. */
  psc?: string;
  serial?: string;
}

const bad = (field: string, zh: string, en: string) =>
  StationBadInput({ field }, { zh: `${field}：${zh}`, en: `${field} ${en}` });

export class CpuSimFile {
  constructor(
    readonly dir: string,
    readonly com: number,
  ) {}
  get path(): string {
    return join(this.dir, `com${this.com}.card`);
  }

  read(): { card: boolean; psam: boolean; data: string } {
    if (!existsSync(this.path)) return { card: false, psam: true, data: 'F'.repeat(512) };
    const s = { card: false, psam: false, data: 'F'.repeat(512) };
    for (const line of readFileSync(this.path, 'utf8').split(/\r?\n/)) {
      if (line.startsWith('card=')) s.card = line[5] === '1';
      else if (line.startsWith('psam=')) s.psam = line[5] === '1';
      else if (line.startsWith('data=')) s.data = line.slice(5);
    }
    return s;
  }

  write(s: { card: boolean; psam: boolean; data: string }): void {
    mkdirSync(this.dir, { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, `card=${s.card ? 1 : 0}\npsam=${s.psam ? 1 : 0}\ndata=${s.data}\n`);
    renameSync(tmp, this.path);
  }
}

export class SimControl {
  private present = false;

  constructor(
    readonly sim: SimReader,
    readonly cpu: CpuSimFile,
    readonly psamSlot: 1 | 2 | 3,
  ) {
    sim.on('inserted', () => {
      this.present = true;
    });
    sim.on('removed', () => {
      this.present = false;
    });
  }

  insert(b: SimInsertBody): Record<string, unknown> {
    const serial = b.serial ?? randomBytes(6).toString('hex').toUpperCase();
    if (b.serial !== undefined && (typeof b.serial !== 'string' || !/^[0-9A-Za-z_-]{1,64}$/.test(b.serial)))
      throw bad('serial', '1-64 个字母数字', 'must be 1-64 letters or digits');
    if (b.psc !== undefined && (b.cardType !== '4442' || typeof b.psc !== 'string' || !isHex(b.psc, 3)))
      throw bad('psc', '仅 4442，6 个十六进制字符', 'is for 4442 only, 6 hex digits');
    this.cpu.write({ ...this.cpu.read(), card: false });
    if (b.cardType === 'cpu') {
      if (b.image !== undefined && (typeof b.image !== 'string' || !isHex(b.image, 256)))
        throw bad('image', 'CPU 卡镜像应为 512 个十六进制字符', 'must be 512 hex for a CPU card');
      const s = this.cpu.read();
      this.cpu.write({ card: true, psam: s.psam, data: (b.image ?? 'F'.repeat(512)).toUpperCase() });
      this.sim.insert({ type: 'cpu' });
      return { cardType: 'cpu', library: 'stand-in library / 替身库', psam: s.psam };
    }
    let image: CardImage;
    if (b.cardType === '4442') {
      const base = Sle4442.factory({ serial, ...(b.psc ? { psc: b.psc } : {}) }).toImage();
      if (b.image === undefined) image = base;
      else {
        if (typeof b.image !== 'string' || !isHex(b.image, 256))
          throw bad('image', '4442 卡镜像应为 512 个十六进制字符', 'must be 512 hex for a 4442 card');
        image = { ...base, main: b.image.toUpperCase() };
      }
    } else if (b.cardType === '102') {
      const base = At88sc102.factory({ serial }).toImage();
      if (b.image === undefined) image = base;
      else if (typeof b.image === 'string' && isHex(b.image, 196)) image = { ...base, memory: b.image.toUpperCase() };
      else if (typeof b.image === 'string' && isHex(b.image, 150))
        image = { ...base, memory: apply102(base.memory, b.image) };
      else
        throw bad(
          'image',
          '102 卡镜像应为 392（整卡）或 300（公共区+1区+2区）个十六进制字符',
          'must be 392 hex (whole card) or 300 hex (public zone + zones 1 and 2)',
        );
    } else {
      throw bad('cardType', '应为 4442、102 或 cpu', 'must be 4442, 102 or cpu');
    }
    try {
      validateImage(image);
    } catch (e) {
      throw bad('image', (e as Error).message, (e as Error).message);
    }
    return { cardType: b.cardType, ...this.sim.insert({ image }) };
  }

  remove(): Record<string, unknown> {
    const was = this.sim.summary();
    this.sim.remove();
    const c = this.cpu.read();
    if (c.card) this.cpu.write({ ...c, card: false, data: 'F'.repeat(512) });
    return { removed: true, ...(was ? { summary: was } : {}) };
  }

  /** The raw card with counters and protection bits; PSC / SC / erase keys masked. */
  card(): Record<string, unknown> {
    const c = this.cpu.read();
    const img = this.sim.image();
    const present = this.present;
    if (c.card)
      return { present: true, cardType: 'cpu', psam: c.psam, library: 'stand-in library / 替身库', data: c.data };
    if (!img || !present)
      return {
        present: false,
        ...(img ? { lastRemoved: { summary: this.sim.summary(), image: redactImage(img) } } : {}),
      };
    const sum = this.sim.summary();
    return { present, cardType: img.chip === 'sle4442' ? '4442' : '102', summary: sum, image: redactImage(img) };
  }

  setPsam(present: boolean): Record<string, unknown> {
    if (present) this.sim.insertSam(this.psamSlot);
    else this.sim.removeSam(this.psamSlot);
    this.cpu.write({ ...this.cpu.read(), psam: present });
    return { psam: present, slot: this.psamSlot };
  }

  fault(b: { pullCardAfterWrites?: number; disconnect?: boolean; reconnect?: boolean }): Record<string, unknown> {
    if (b.pullCardAfterWrites !== undefined) this.sim.pullCardAfterWrites(b.pullCardAfterWrites);
    if (b.disconnect) this.sim.disconnect();
    if (b.reconnect) this.sim.reconnect();
    return { ok: true };
  }

  /** Interface data of the memory card in the slot (what the maker's library sees). */
  interfaceData(): { cardType: '4442' | '102'; data: string } | null {
    const img = this.sim.image();
    if (!img) return null;
    if (img.chip === 'sle4442') return { cardType: '4442', data: img.main };
    const m = img.memory;
    return { cardType: '102', data: m.slice(0, 44) + m.slice(44, 172) + m.slice(184, 312) };
  }

  /** Replaces the card's library-owned bytes (a meter writing back), keeping chip state and passwords. */
  putInterfaceData(data: string): Record<string, unknown> {
    const img = this.sim.image();
    if (!img) throw bad('card', '没有卡', 'no card');
    const next: CardImage =
      img.chip === 'sle4442'
        ? { ...img, main: img.main.slice(0, 64) + data.slice(64).toUpperCase() }
        : { ...img, memory: apply102(img.memory, data) };
    return this.sim.insert({ image: next }) as Record<string, unknown>;
  }
}

/** Writes 300-hex interface data (public zone + AZ1 + AZ2) into a 392-hex 102 memory: IZ, CPZ, AZ1, AZ2 only. */
function apply102(memory: string, data: string): string {
  const mem = fromHex(memory, 196);
  const d = fromHex(data, 150);
  mem.set(d.subarray(2, 10), 2);
  mem.set(d.subarray(14, 22), 14);
  mem.set(d.subarray(22, 86), 22);
  mem.set(d.subarray(86, 150), 92);
  return toHex(mem);
}

/**
 * 替身表 / stand-in meter: the stand-in library's test-only StandInMeterWriteBack, run in a short-lived child
 * process (vendor-style native code never runs in the station process). Real maker libraries have no such
 * export; this exists only with stand-in plugins.
 */
export function standInMeterWriteBack(
  libraryPath: string,
  cardType: '4442' | '102',
  data: string,
  o: {
    status?: number;
    lastCode?: number;
    months?: Array<[number, number]>;
  },
): string {
  const koffiPath = createRequire(import.meta.url).resolve('koffi');
  const script = `
    const k = require(process.env.MH_KOFFI);
    const a = JSON.parse(process.env.MH_ARGS);
    const lib = k.load(a.lib);
    const fn = lib.func('int StandInMeterWriteBack(const char *cardType, const char *data, int status, int lastCode, const int *months, const int *usage, int count, _Out_ uint8_t *out, int outSize)');
    const out = Buffer.alloc(1024);
    const rc = fn(a.cardType, a.data, a.status, a.lastCode, Int32Array.from(a.months.map((m) => m[0])), Int32Array.from(a.months.map((m) => m[1])), a.months.length, out, out.length);
    process.stdout.write(JSON.stringify({ rc, data: rc === 0 ? out.subarray(0, out.indexOf(0)).toString('ascii') : null }));`;
  const r = spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    timeout: 15_000,
    env: {
      ...environment(),
      MH_KOFFI: koffiPath,
      MH_ARGS: JSON.stringify({
        lib: libraryPath,
        cardType,
        data,
        status: o.status ?? 0,
        lastCode: o.lastCode ?? 0,
        months: o.months ?? [],
      }),
    },
  });
  let out: { rc: number; data: string | null } | undefined;
  try {
    out = JSON.parse(r.stdout) as { rc: number; data: string | null };
  } catch {
    /* child failed */
  }
  if (!out || out.rc !== 0 || !out.data) {
    throw StationBadInput(
      { field: 'meter', rc: out?.rc ?? null },
      {
        zh: `替身表写回失败（${out?.rc ?? 'no answer'}）`,
        en: `the stand-in meter write-back failed (${out?.rc ?? 'no answer'})`,
      },
    );
  }
  return out.data;
}
