/** Which meter addresses a gateway knows (the meter registry, core/meters). Absent: every address is accepted. */
export interface MeterDirectory {
  /** The subset of `addresses` that are registered and active. */
  known(addresses: readonly string[]): Promise<ReadonlySet<string>>;
  /**
   * Forgets cached answers, if the directory caches. An assignment asks again before refusing, so a meter ops
   * registered a moment ago is not refused as unknown; a registry reload refreshes too.
   */
  refresh?(): void;
}
