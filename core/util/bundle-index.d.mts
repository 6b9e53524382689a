// Types of bundle-index.mjs (plain JavaScript so bin/meterhub.mjs can use it before a TypeScript loader exists).
export declare const ROOT: string;
export declare const BUILD_DIR: string;
export interface BundleIndex {
  /** Source entry (relative to the repository) -> bundle file name. */
  entries: Record<string, string>;
  bundles: string[];
  /** Every source the bundles were built from, relative to the repository. */
  inputs: string[];
}
export declare function bundleIndex(dir: string): { index: BundleIndex; fresh: boolean } | null;
export declare function freshBundle(dir: string, entry: string): string | undefined;
