/**
 * A simulator of the MeterDirectory interface for tests: an in-memory set of registered addresses. The real
 * directory is the meter registry (core/meters); the quarantine depends only on the interface, so the tests use
 * this stand-in, which also counts how often it was asked.
 */
import type { MeterDirectory } from '../meter-directory.ts';

export class MemoryDirectory implements MeterDirectory {
  readonly addresses: Set<string>;
  calls = 0;

  constructor(addresses: Iterable<string> = []) {
    this.addresses = new Set(addresses);
  }

  async known(addresses: readonly string[]): Promise<ReadonlySet<string>> {
    this.calls++;
    return new Set(addresses.filter((a) => this.addresses.has(a)));
  }

  register(address: string): void {
    this.addresses.add(address);
  }
}
