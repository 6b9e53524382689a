/**
 * The typed view of one maker library, as the rest of the server uses it. Implemented by the driver-host
 * client (core/driver/driver-client.ts), which forwards every call to a supervised child process.
 *
 * Each method corresponds to one interface function of sdk/include/gascard.h. `rc` is the library's own
 * return code; a non-zero rc is data, not an exception (Check's 1 and -1 are normal answers). Exceptions
 * are reserved for the host: crash, hang, missing symbol, garbage output (see core/driver/driver-errors.ts).
 */
import type { CardType, MemoryCardType, MeterKind } from '../cards/card-types.ts';

export interface DriverCallOptions {
  /** Per-call timeout override (ms). */
  timeoutMs?: number;
}

export interface RcResult {
  rc: number;
}

export interface WriteResult extends RcResult {
  data: string;
  oldKey: string;
  newKey: string;
}

export interface ReadResult extends RcResult {
  cardNo: string;
  gas: number;
  count: number;
  meterKind: MeterKind | number;
}

export interface CheckResult extends RcResult {
  /** 102 only: the password needed to read application zones. */
  oldKey?: string;
}

export interface UsageResult extends RcResult {
  written: boolean;
  status: number;
  lastCode: number;
  /** Newest first; usage in 0.01 m³ units as the library reports it. */
  months: Array<{ yyyymm: number; usage: number }>;
}

export interface DriverInfo {
  /** Interface functions the library exports (after the symbol map). */
  functions: string[];
  /** Interface functions missing from the library. */
  missing: string[];
  interfaceVersion?: string;
  pid: number;
  runtime: string;
  arch: string;
  /** Platform the host process reported (absent from hosts that do not say; then this machine's). */
  platform?: string;
  /** The library the host loaded: the manifest entry for the host's own platform-arch. */
  library?: string;
}

export interface CardDriver {
  info(): Promise<DriverInfo>;
  check(cardType: CardType, data: string | { com: number }, o?: DriverCallOptions): Promise<CheckResult>;
  read(cardType: CardType, data: string | { com: number }, o?: DriverCallOptions): Promise<ReadResult>;
  writeNew(
    cardType: MemoryCardType,
    v: { cardNo: string; gas: number; count: number; meterKind: number },
    o?: DriverCallOptions,
  ): Promise<WriteResult>;
  buy(
    cardType: MemoryCardType,
    v: { source: string; cardNo: string; gas: number; count: number },
    o?: DriverCallOptions,
  ): Promise<WriteResult>;
  format(cardType: MemoryCardType, source: string, o?: DriverCallOptions): Promise<RcResult & { oldKey: string }>;
  listTools(cardType: CardType, o?: DriverCallOptions): Promise<RcResult & { kinds: string[] }>;
  makeTool(
    cardType: MemoryCardType,
    v: { kind: string; params: Record<string, string>; source: string },
    o?: DriverCallOptions,
  ): Promise<WriteResult>;
  readUsage(cardType: CardType, data: string | { com: number }, o?: DriverCallOptions): Promise<UsageResult>;
  errorText(code: number, o?: DriverCallOptions): Promise<RcResult & { text: string }>;
  /** CPU cards: the library drives the reader itself. */
  cpu: {
    writeNew(
      v: { com: number; cardNo: string; gas: number; count: number; meterKind: number },
      o?: DriverCallOptions,
    ): Promise<RcResult>;
    buy(v: { com: number; cardNo: string; gas: number; count: number }, o?: DriverCallOptions): Promise<RcResult>;
    format(v: { com: number; cardNo: string }, o?: DriverCallOptions): Promise<RcResult>;
    makeTool(
      v: { com: number; kind: string; params: Record<string, string> },
      o?: DriverCallOptions,
    ): Promise<RcResult>;
  };
  health(): DriverHealth;
  close(): Promise<void>;
}

export interface DriverHealth {
  state: 'starting' | 'ready' | 'restarting' | 'stopped' | 'failed';
  restarts: number;
  lastError?: { code: string; message: string; at: string };
  pid?: number;
  calls: number;
  /** Calls waiting or in flight (the supervisor serialises calls per library). */
  queued?: number;
  /** Delay used for the latest respawn, ms (100 doubling to 5000, reset after a healthy period). */
  backoffMs?: number;
  consecutiveFailures?: number;
  /** Lines of vendor output on the host's stdout that were ignored. */
  noiseLines?: number;
}
