/**
 * vpcd sends each frame as two writes (2-byte length, then payload) on a socket with Nagle's algorithm on, so
 * the payload waits for the ACK of the length, and Linux delays that ACK by up to 40 ms: measured here, every
 * APDU through vpcd took ~48 ms. Setting TCP_QUICKACK on our end whenever data arrives sends that ACK at once.
 * Linux only (the option does not exist elsewhere, nor does vpcd's Nagle problem matter for real readers).
 */
import koffi from 'koffi';
import { type Socket } from 'node:net';

const IPPROTO_TCP = 6;
const TCP_QUICKACK = 12;

type SetSockOpt = (fd: number, level: number, name: number, val: number[], len: number) => number;
let setsockopt: SetSockOpt | null | undefined;

function bind(): SetSockOpt | null {
  if (setsockopt !== undefined) return setsockopt;
  setsockopt = null;
  if (process.platform !== 'linux') return null;
  try {
    const libc = koffi.load('libc.so.6');
    const proto = 'int setsockopt(int fd, int level, int name, const int *val, unsigned int len)';
    setsockopt = libc.func(proto) as SetSockOpt;
  } catch {
    setsockopt = null;
  }
  return setsockopt;
}

/** Best effort: without it the protocol still works, only slower. Returns whether the option was set. */
export function quickAck(socket: Socket): boolean {
  const fn = bind();
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (!fn || typeof fd !== 'number' || fd < 0) return false;
  return fn(fd, IPPROTO_TCP, TCP_QUICKACK, [1], 4) === 0;
}
