/**
 * A minimal ustar writer/reader for backup archives (.tar.gz), so a backup opens with plain `tar -xzf` on
 * any machine and needs no extra package. Regular files only, names up to 100 bytes, streamed both ways:
 * a multi-gigabyte database never sits in memory.
 */
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';

const BLOCK = 512;

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

export function tarHeader(name: string, size: number, mode = 0o600, mtime = Math.floor(Date.now() / 1000)): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  if (nameBytes.length > 100 || name.includes('..') || name.startsWith('/'))
    throw new Error(`bad archive entry name ${name}`);
  const h = Buffer.alloc(BLOCK, 0);
  nameBytes.copy(h, 0);
  h.write(octal(mode, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(mtime, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write('0', 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write('meterhub', 265, 'ascii');
  h.write('meterhub', 297, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

export interface TarInput {
  name: string;
  /** A file on disk (streamed) or bytes. */
  path?: string;
  data?: Buffer;
  mode?: number;
}

/** Writes a gzip-compressed tar of the inputs to `out`. */
export async function writeTarGz(out: string, inputs: TarInput[], mode = 0o600): Promise<void> {
  async function* blocks(): AsyncGenerator<Buffer> {
    for (const i of inputs) {
      const size = i.data ? i.data.length : statSync(i.path!).size;
      yield tarHeader(i.name, size, i.mode ?? 0o600);
      let written = 0;
      if (i.data) {
        yield i.data;
        written = i.data.length;
      } else {
        for await (const chunk of createReadStream(i.path!)) {
          written += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
      }
      if (written !== size) throw new Error(`${i.name} changed size while archiving (${size} -> ${written})`);
      const pad = (BLOCK - (size % BLOCK)) % BLOCK;
      if (pad) yield Buffer.alloc(pad, 0);
    }
    yield Buffer.alloc(BLOCK * 2, 0);
  }
  await pipeline(blocks, createGzip({ level: 6 }), createWriteStream(out, { mode }));
}

export interface TarEntry {
  name: string;
  size: number;
  mode: number;
}

function parseOctal(b: Buffer, off: number, len: number): number {
  const s = b
    .subarray(off, off + len)
    .toString('ascii')
    .replace(/\0.*$/s, '')
    .trim();
  return s ? parseInt(s, 8) : 0;
}

/**
 * Streams a .tar.gz; `open(entry)` returns where the entry's bytes go (a Writable) or null to skip it.
 * Rejects on a bad checksum or a truncated archive.
 */
export async function readTarGz(file: string, open: (e: TarEntry) => Writable | null): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  let buf: Buffer = Buffer.alloc(0);
  let current: { entry: TarEntry; remaining: number; pad: number; sink: Writable | null } | null = null;
  let ended = false;

  const writeTo = (sink: Writable, chunk: Buffer) =>
    new Promise<void>((resolve, reject) => {
      sink.write(chunk, (e) => (e ? reject(e) : resolve()));
    });
  const finish = (sink: Writable) =>
    new Promise<void>((resolve, reject) => {
      sink.once('error', reject);
      sink.end(() => resolve());
    });

  const parser = new Writable({
    async write(chunk: Buffer, _enc, cb) {
      try {
        buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
        for (;;) {
          if (ended) {
            buf = Buffer.alloc(0);
            break;
          }
          if (current) {
            if (current.remaining > 0) {
              if (!buf.length) break;
              const n = Math.min(current.remaining, buf.length);
              if (current.sink) await writeTo(current.sink, buf.subarray(0, n));
              buf = buf.subarray(n);
              current.remaining -= n;
              continue;
            }
            if (buf.length < current.pad) break;
            buf = buf.subarray(current.pad);
            if (current.sink) await finish(current.sink);
            current = null;
            continue;
          }
          if (buf.length < BLOCK) break;
          const h = buf.subarray(0, BLOCK);
          buf = buf.subarray(BLOCK);
          if (h.every((b) => b === 0)) {
            ended = true;
            continue;
          }
          const stored = parseOctal(h, 148, 8);
          let sum = 0;
          for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
          if (sum !== stored) throw new Error('archive header checksum mismatch (not a MeterHub backup, or damaged)');
          const name = h.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
          const size = parseOctal(h, 124, 12);
          const type = String.fromCharCode(h[156] ?? 48);
          const entry: TarEntry = { name, size, mode: parseOctal(h, 100, 8) };
          const regular = type === '0' || type === '\0';
          if (regular) entries.push(entry);
          current = {
            entry,
            remaining: size,
            pad: (BLOCK - (size % BLOCK)) % BLOCK,
            sink: regular ? open(entry) : null,
          };
        }
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
  });
  await pipeline(createReadStream(file), createGunzip(), parser);
  if ((current as unknown) !== null || !ended) throw new Error('archive is truncated');
  return entries;
}
