/**
 * API routes of other parts reach the app only through the composition root (buildApp's `routes`): there is no
 * module-global registry left to fill on import (issue 15), so what an app serves is decided where it is built.
 */
import { describe, expect, it } from 'vitest';

describe('route modules', () => {
  it('route-registry.ts holds types only, no registry', async () => {
    expect(Object.keys(await import('./route-registry.ts'))).toEqual([]);
  });
});
