/**
 * What a maker plugin is (meterhub-plugin.json) and what the plugin host offers the rest of the server.
 * The card API (core/server), the station and the ops console code against `PluginHost`, never against files.
 */
import type { CardType } from '../cards/card-types.ts';
import type { CardDriver, DriverHealth } from '../driver/card-driver.ts';
import type { LibraryKind } from '../inspect/library-kind.ts';

export interface LocalizedName {
  'zh-CN': string;
  en: string;
}

export interface ReturnCodeEntry {
  /** What the meter shows (e.g. "E-03", "3"). */
  code: string;
  zh: string;
  en: string;
  /** Where this meaning comes from; stand-in entries say so. */
  source: string;
  standIn?: boolean;
}

export interface ToolCardEntry {
  kind: string;
  zh: string;
  en: string;
  cardTypes: CardType[];
  params?: Array<{ name: string; zh: string; en: string; required?: boolean }>;
  source: string;
  standIn?: boolean;
}

export interface PluginManifest {
  id: string;
  name: LocalizedName;
  cardTypes: CardType[];
  /** platform-arch ("linux-x64", "win32-ia32", …) -> library path relative to the manifest. */
  library: Record<string, string>;
  /**
   * platform-arch -> "native" (default: koffi in the Node driver host) or "dotnet" (a .NET assembly, hosted by
   * `bridge`). core/inspect/library-kind.ts; `meterhub inspect --manifest` checks it against the file.
   */
  libraryKind?: Record<string, LibraryKind>;
  /** Interface function name -> name the library exports (for makers whose names differ). */
  symbols?: Record<string, string>;
  /** True for the stand-in libraries built from sdk/reference. Shown everywhere: "stand-in library / 替身库". */
  standIn?: boolean;
  /** Card rules the ledger must honour (reference §4.6): e.g. the card must be empty before a purchase. */
  rules?: { requireEmptyCardBeforePurchase?: boolean };
  /**
   * A non-Node driver host for a library declared "dotnet" in `libraryKind` (Tancy's .NET assembly).
   * On such a platform, `exe` is the driver host: it is started with `args` and speaks
   * docs/driver-protocol.md; `library` is then the maker's assembly it loads.
   */
  bridge?: { exe: Record<string, string>; args?: string[]; note?: string };
  /** Driver host settings: timeouts, runtime (execPath) for 32-bit DLLs. */
  driver?: { execPath?: string; callTimeoutMs?: number };
  catalogues: {
    returnCodes: ReturnCodeEntry[] | string;
    toolCards: ToolCardEntry[] | string;
  };
  /**
   * Remote-read dialects this maker ships (files relative to the manifest, checked like docs/protocol/dialects.md)
   * and frames that prove them. The plugin host registers the profiles while the plugin is enabled.
   */
  telemetry?: { profiles?: string[]; testVectors?: string | FrameTestVector[] };
}

/** One frame a maker ships with its dialect, and what decoding it with `profile` must give. */
export interface FrameTestVector {
  name: string;
  profile: string;
  hex: string;
  source?: string;
  expect: { error?: string; refusal?: string; reading?: Record<string, unknown> };
}

export interface PluginState {
  id: string;
  name: LocalizedName;
  cardTypes: CardType[];
  enabled: boolean;
  standIn: boolean;
  dir: string;
  libraryPath?: string;
  libraryFound: boolean;
  driver?: DriverHealth;
}

/**
 * A plugin folder whose meterhub-plugin.json could not be loaded (invalid JSON, schema problems, a bad catalogue,
 * an id another plugin already has). It is never loaded; the host lists it with its error so ops see it, and
 * every other plugin keeps serving.
 */
export interface InvalidPlugin {
  /** The manifest's id when it has a readable one, else the folder name. */
  id: string;
  dir: string;
  state: 'invalid';
  error: { code: string; message: string; messageZh: string; messageEn: string; details: Record<string, unknown> };
}

export type CardKind = 'user' | 'tool';

export interface Identification {
  maker: string;
  kind: CardKind;
  /** 102 only: the password for reading application zones. */
  oldKey?: string;
}

export interface PluginHost {
  list(): PluginState[];
  /** Plugin folders found but not loaded because their manifest is invalid (never served). */
  invalid(): InvalidPlugin[];
  get(id: string): PluginState | undefined;
  manifest(id: string): PluginManifest;
  returnCodes(id: string): ReturnCodeEntry[];
  toolCards(id: string): ToolCardEntry[];
  enable(id: string): Promise<PluginState>;
  disable(id: string): Promise<PluginState>;
  /** The driver of an enabled plugin; throws PLUGIN_DISABLED / PLUGIN_UNKNOWN / LIBRARY_MISSING. */
  driver(id: string): CardDriver;
  /** Ids of the enabled plugins that take this card type, sorted (no disk access: card operations ask this). */
  enabledFor(cardType: CardType): string[];
  /** Asks every enabled plugin's Check; exactly one claim or a clear error (CARD_UNKNOWN 422, CARD_CONFLICT 409). */
  identify(cardType: CardType, data: string): Promise<Identification>;
  close(): Promise<void>;
}
