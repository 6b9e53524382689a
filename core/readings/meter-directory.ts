/** Which meter addresses a gateway knows (the meter registry, core/meters). Absent: every address is accepted. */
export interface MeterDirectory {
  /** The subset of `addresses` that are registered and active. */
  known(addresses: readonly string[]): Promise<ReadonlySet<string>>;
}
