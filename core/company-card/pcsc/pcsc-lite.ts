/**
 * A small PC/SC client bound with koffi to the system's PC/SC library (libpcsclite on Linux and macOS,
 * winscard.dll on Windows): establish a context, list readers, connect with T=0 or T=1, transmit, status.
 *
 * Why koffi and not an npm PC/SC addon: koffi is already how MeterHub loads native libraries, and it needs no
 * compiler or per-Node-version rebuild; the nan-based addons (pcsclite, @pokusew/pcsclite) have broken on
 * each new Node major (their trackers: Node 22/24/26 build failures). Calls that reach the card run with
 * koffi's async mode on a worker thread, so the event loop stays free — which the vpcd test needs, since the
 * emulated card answers on this same loop.
 *
 * Types follow each platform's headers: pcsclite uses C long / unsigned long (8 bytes on 64-bit Linux),
 * winscard uses 32-bit LONG/DWORD and a pointer-sized SCARDCONTEXT.
 */
import koffi from 'koffi';
import { type ApduChannel } from '../apdu.ts';
import { CompanyCardRemoved, PcscFailed, PcscUnavailable } from '../company-card-errors.ts';

const WIN = process.platform === 'win32';
const T = WIN
  ? { long: 'int32_t', dword: 'uint32_t', ctx: 'uintptr_t', suffix: 'A' }
  : { long: 'long', dword: 'unsigned long', ctx: 'long', suffix: '' };

export const SCARD = {
  SCOPE_SYSTEM: 2,
  SHARE_SHARED: 2,
  SHARE_EXCLUSIVE: 1,
  PROTOCOL_T0: 1,
  PROTOCOL_T1: 2,
  LEAVE_CARD: 0,
  RESET_CARD: 1,
  UNPOWER_CARD: 2,
} as const;

/** PC/SC result codes we act on (the rest are reported by name-less hex). */
const RC = {
  S_SUCCESS: 0,
  E_NO_SMARTCARD: 0x8010000c,
  W_REMOVED_CARD: 0x80100069,
  W_RESET_CARD: 0x80100068,
  E_NO_READERS_AVAILABLE: 0x8010002e,
  E_NO_SERVICE: 0x8010001d,
  E_SERVICE_STOPPED: 0x8010001e,
  W_UNRESPONSIVE_CARD: 0x80100066,
} as const;

type Fn = ((...a: unknown[]) => number) & { async: (...a: unknown[]) => void };

interface Lib {
  establish: Fn;
  release: Fn;
  listReaders: Fn;
  connect: Fn;
  disconnect: Fn;
  transmit: Fn;
  status: Fn;
  statusChange: Fn;
}

let lib: Lib | null = null;

function load(): Lib {
  if (lib) return lib;
  let so: ReturnType<typeof koffi.load>;
  try {
    so = koffi.load(
      WIN
        ? 'winscard.dll'
        : process.platform === 'darwin'
          ? '/System/Library/Frameworks/PCSC.framework/PCSC'
          : 'libpcsclite.so.1',
    );
  } catch {
    throw PcscUnavailable({ reason: 'library' });
  }
  koffi.struct('MH_SCARD_IO_REQUEST', { dwProtocol: T.dword, cbPciLength: T.dword });
  koffi.struct('MH_SCARD_READERSTATE', {
    szReader: 'const char *',
    pvUserData: 'void *',
    dwCurrentState: T.dword,
    dwEventState: T.dword,
    cbAtr: T.dword,
    rgbAtr: koffi.array('uint8_t', WIN ? 36 : 33),
  });
  const f = (proto: string) => so.func(proto) as Fn;
  const { long: L, dword: D, ctx: C, suffix: A } = T;
  lib = {
    establish: f(`${L} SCardEstablishContext(${D} scope, void *r1, void *r2, _Out_ ${C} *ctx)`),
    release: f(`${L} SCardReleaseContext(${C} ctx)`),
    listReaders: f(
      `${L} SCardListReaders${A}(${C} ctx, const char *groups, _Out_ uint8_t *readers, ` + `_Inout_ ${D} *len)`,
    ),
    connect: f(
      `${L} SCardConnect${A}(${C} ctx, const char *reader, ${D} share, ${D} protocols, ` +
        `_Out_ ${C} *card, _Out_ ${D} *active)`,
    ),
    disconnect: f(`${L} SCardDisconnect(${C} card, ${D} disposition)`),
    transmit: f(
      `${L} SCardTransmit(${C} card, const MH_SCARD_IO_REQUEST *sendPci, const uint8_t *send, ${D} sendLen, ` +
        `void *recvPci, _Out_ uint8_t *recv, _Inout_ ${D} *recvLen)`,
    ),
    status: f(
      `${L} SCardStatus${A}(${C} card, _Out_ uint8_t *name, _Inout_ ${D} *nameLen, _Out_ ${D} *state, ` +
        `_Out_ ${D} *protocol, _Out_ uint8_t *atr, _Inout_ ${D} *atrLen)`,
    ),
    statusChange: f(
      `${L} SCardGetStatusChange${A}(${C} ctx, ${D} timeout, ` + `_Inout_ MH_SCARD_READERSTATE *states, ${D} n)`,
    ),
  };
  return lib;
}

const hex32 = (rc: number) => (rc >>> 0).toString(16).toUpperCase().padStart(8, '0');

function check(rc: number, call: string): void {
  const code = rc >>> 0;
  if (code === RC.S_SUCCESS) return;
  const gone = code === RC.W_REMOVED_CARD || code === RC.E_NO_SMARTCARD || code === RC.W_UNRESPONSIVE_CARD;
  if (gone) throw CompanyCardRemoved({ call });
  if (code === RC.E_NO_SERVICE || code === RC.E_SERVICE_STOPPED || code === RC.E_NO_READERS_AVAILABLE) {
    throw PcscUnavailable({ call, rc: hex32(code) });
  }
  throw PcscFailed({ call, rc: hex32(code) });
}

function callAsync(fn: Fn, args: unknown[]): Promise<number> {
  return new Promise((resolve, reject) => {
    fn.async(...args, (err: unknown, rc: number) => (err ? reject(err) : resolve(rc)));
  });
}

export class PcscContext {
  private constructor(private readonly ctx: number | bigint) {}

  static open(): PcscContext {
    const l = load();
    const out: Array<number | bigint> = [0];
    check(l.establish(SCARD.SCOPE_SYSTEM, null, null, out), 'SCardEstablishContext');
    return new PcscContext(out[0] ?? 0);
  }

  close(): void {
    load().release(this.ctx);
  }

  listReaders(): string[] {
    const l = load();
    const len: number[] = [0];
    const rc = l.listReaders(this.ctx, null, null, len) >>> 0;
    if (rc === RC.E_NO_READERS_AVAILABLE) return [];
    check(rc, 'SCardListReaders');
    const buf = Buffer.alloc(len[0] ?? 0);
    check(l.listReaders(this.ctx, null, buf, len), 'SCardListReaders');
    return buf
      .subarray(0, len[0])
      .toString('latin1')
      .split('\0')
      .filter((s) => s.length > 0);
  }

  /**
   * The reader's card state as pcscd knows it now ('present' | 'empty'), from SCardGetStatusChange with
   * timeout 0. pcscd learns of insertions and removals by polling its drivers, so callers that need a state
   * wait for it here instead of trusting a connect made just after a change.
   */
  async cardState(reader: string): Promise<'present' | 'empty' | 'unknown'> {
    const state = {
      szReader: reader,
      pvUserData: null,
      dwCurrentState: 0,
      dwEventState: 0,
      cbAtr: 0,
      rgbAtr: new Array(WIN ? 36 : 33).fill(0),
    };
    const rc = (await callAsync(load().statusChange, [this.ctx, 0, state, 1])) >>> 0;
    if (rc === 0x8010000a) return 'unknown'; // SCARD_E_TIMEOUT: no answer within 0 ms
    check(rc, 'SCardGetStatusChange');
    if (state.dwEventState & 0x20) return 'present'; // SCARD_STATE_PRESENT
    if (state.dwEventState & 0x10) return 'empty'; // SCARD_STATE_EMPTY
    return 'unknown';
  }

  /** Connects to the card in `reader`; `protocols` is a mask of SCARD.PROTOCOL_T0 / _T1. */
  async connect(reader: string, protocols: number = SCARD.PROTOCOL_T0 | SCARD.PROTOCOL_T1): Promise<PcscCard> {
    const l = load();
    const card: Array<number | bigint> = [0];
    const active: number[] = [0];
    check(
      await callAsync(l.connect, [this.ctx, reader, SCARD.SHARE_EXCLUSIVE, protocols, card, active]),
      'SCardConnect',
    );
    const handle = new PcscCard(card[0] ?? 0, active[0] === SCARD.PROTOCOL_T1 ? 'T1' : 'T0');
    await handle.refreshStatus();
    return handle;
  }
}

/** A connected card: an ApduChannel for the terminals of core/company-card/terminal. */
export class PcscCard implements ApduChannel {
  atr: Buffer = Buffer.alloc(0);
  /** APDUs sent and bytes moved, for the byte-time bound of the benchmark. */
  readonly stats = { apdus: 0, bytesOut: 0, bytesIn: 0 };

  constructor(
    private readonly handle: number | bigint,
    readonly protocol: 'T0' | 'T1',
  ) {}

  async refreshStatus(): Promise<void> {
    const l = load();
    const name = Buffer.alloc(256);
    const nameLen: number[] = [name.length];
    const state: number[] = [0];
    const proto: number[] = [0];
    const atr = Buffer.alloc(36);
    const atrLen: number[] = [atr.length];
    check(await callAsync(l.status, [this.handle, name, nameLen, state, proto, atr, atrLen]), 'SCardStatus');
    this.atr = Buffer.from(atr.subarray(0, atrLen[0]));
  }

  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    const l = load();
    const recv = Buffer.alloc(258);
    const recvLen: number[] = [recv.length];
    const pci = {
      dwProtocol: this.protocol === 'T1' ? SCARD.PROTOCOL_T1 : SCARD.PROTOCOL_T0,
      cbPciLength: WIN ? 8 : 16,
    };
    check(
      await callAsync(l.transmit, [this.handle, pci, Buffer.from(apdu), apdu.length, null, recv, recvLen]),
      'SCardTransmit',
    );
    const n = recvLen[0] ?? 0;
    this.stats.apdus++;
    this.stats.bytesOut += apdu.length;
    this.stats.bytesIn += n;
    return Buffer.from(recv.subarray(0, n));
  }

  async disconnect(disposition: number = SCARD.LEAVE_CARD): Promise<void> {
    await callAsync(load().disconnect, [this.handle, disposition]);
  }
}
