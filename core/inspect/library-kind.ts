/**
 * Native or .NET: the two shapes a maker library comes in. A native DLL/.so is bound through koffi in the
 * Node driver host; a .NET assembly needs the bridge (plugins/tancy/bridge). Loading one the other way fails
 * only at run time (koffi cannot bind managed code; the bridge throws BadImageFormatException on a native DLL),
 * so the manifest declares the kind and `meterhub inspect` checks it against the file's CLR header.
 */
export const LIBRARY_KINDS = ['native', 'dotnet'] as const;
export type LibraryKind = (typeof LIBRARY_KINDS)[number];

/** What a plugin declares when it names no kind: every maker except Tancy's .NET wrapper ships native code. */
export const DEFAULT_LIBRARY_KIND: LibraryKind = 'native';

export function isLibraryKind(v: unknown): v is LibraryKind {
  return typeof v === 'string' && (LIBRARY_KINDS as readonly string[]).includes(v);
}

/** A PE image with a CLR header is a .NET assembly; everything else (PE without one, ELF) is native code. */
export function libraryKindOf(bin: { dotNet?: boolean | undefined }): LibraryKind {
  return bin.dotNet ? 'dotnet' : 'native';
}

/** The manifest's declaration for one platform-arch, compared with what the file is. */
export interface ManifestKindCheck {
  manifest: string;
  platform: string;
  declared: LibraryKind;
  /** False when the manifest says nothing and the default applies. */
  explicit: boolean;
  required: LibraryKind;
  ok: boolean;
}
