/**
 * The clerk (营业员) a station call is made for. The guard sets it from the caller's X-MeterHub-Clerk header
 * for the length of the request; the central-server client sends it on every call it makes meanwhile, so
 * the server records who made each sale without every card operation passing it along by hand.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export const CLERK_RE = /^[A-Za-z0-9_.:@-]{1,64}$/;

const store = new AsyncLocalStorage<{ clerk: string | null }>();

export function runAsClerk<T>(clerk: string | null, fn: () => T): T {
  return store.run({ clerk }, fn);
}

/** The current request's clerk, or null outside a request (or a read without one). */
export function currentClerk(): string | null {
  return store.getStore()?.clerk ?? null;
}

/** Binds `fn` to the caller's clerk, for work that runs later on a queue. */
export function bindClerk<T>(fn: () => Promise<T>): () => Promise<T> {
  const clerk = currentClerk();
  return () => runAsClerk(clerk, fn);
}
