// Types of start-memory.mjs (plain JavaScript so bin/meterhub.mjs can call it before anything is loaded).
export declare const DEFAULT_SEMI_SPACE_GROWTH_FACTOR: number;
export declare function holdYoungGeneration(): void;
export declare function releaseYoungGeneration(): void;
