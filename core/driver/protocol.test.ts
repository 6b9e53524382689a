import { describe, expect, it } from 'vitest';
import { FRAME_MARKER, FrameReader, encodeFrame, encodeJson } from './protocol.ts';
import { describeExit, redact } from './supervisor.ts';

function collect() {
  const frames: string[] = [];
  const noise: string[] = [];
  let overflows = 0;
  const reader = new FrameReader({
    frame: (f) => frames.push(f),
    noise: (n) => noise.push(n),
    overflow: () => overflows++,
  });
  return { reader, frames, noise, overflows: () => overflows };
}

describe('FrameReader', () => {
  it('separates frames from vendor lines', () => {
    const c = collect();
    c.reader.push(Buffer.from(`vendor says hi\n${encodeFrame({ id: 1, result: { rc: 0 } })}more noise\n`));
    expect(c.frames.map((f) => JSON.parse(f))).toEqual([{ id: 1, result: { rc: 0 } }]);
    expect(c.noise).toEqual(['vendor says hi', 'more noise']);
  });

  it('finds the marker after noise that has no newline', () => {
    const c = collect();
    c.reader.push(Buffer.from(`licence OK, port COM1${encodeFrame({ id: 7, result: {} })}`));
    expect(c.frames).toEqual(['{"id":7,"result":{}}']);
    expect(c.noise).toEqual(['licence OK, port COM1']);
  });

  it('reassembles a frame and a marker split across chunks, byte by byte', () => {
    const c = collect();
    const bytes = Buffer.from(`abc${encodeFrame({ id: 2, result: { text: '密码校验错误' } })}`);
    for (const b of bytes) c.reader.push(Buffer.from([b]));
    expect(c.frames).toHaveLength(1);
    expect(JSON.parse(c.frames[0]!)).toEqual({ id: 2, result: { text: '密码校验错误' } });
    c.reader.end();
    expect(c.noise).toEqual(['abc']);
  });

  it('accepts CRLF line ends (a C# host on Windows)', () => {
    const c = collect();
    c.reader.push(Buffer.from(`${FRAME_MARKER}{"id":3,"result":{}}\r\nnoise\r\n`));
    expect(c.frames).toEqual(['{"id":3,"result":{}}']);
    expect(c.noise).toEqual(['noise']);
  });

  it('reports a frame that never ends as overflow', () => {
    const c = collect();
    c.reader.push(Buffer.from(FRAME_MARKER));
    c.reader.push(Buffer.alloc(5 * 1024 * 1024, 0x41));
    expect(c.overflows()).toBe(1);
    expect(c.frames).toEqual([]);
  });
});

describe('protocol helpers', () => {
  it('encodes frames as pure ASCII', () => {
    const s = encodeJson({ text: '成功 / OK' });
    expect(/^[\x20-\x7e]*$/.test(s)).toBe(true);
    expect(JSON.parse(s)).toEqual({ text: '成功 / OK' });
  });

  it('decodes exits, including Windows NTSTATUS codes', () => {
    expect(describeExit(null, 'SIGSEGV')).toContain('segmentation fault');
    expect(describeExit(null, 'SIGABRT')).toContain('abort');
    expect(describeExit(3221225477, null)).toContain('0xC0000005 STATUS_ACCESS_VIOLATION');
    expect(describeExit(-1073741819, null)).toContain('0xC0000005');
    expect(describeExit(0xc0000409, null)).toContain('STACK_BUFFER_OVERRUN');
    expect(describeExit(1, null)).toBe('exit code 1');
  });

  it('masks hex runs (card data, keys) in vendor output before logging', () => {
    expect(redact('psc=C0FFEE card=A2131091 loaded fine')).toBe('psc=<hex:6> card=<hex:8> loaded fine');
  });
});
