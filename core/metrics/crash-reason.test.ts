/** The supervisor's `failure` codes map to the crash reasons ops dashboards filter on. */
import { describe, expect, it } from 'vitest';
import { crashReason } from './driver-metrics.ts';

describe('crashReason', () => {
  it('names each way a driver host is lost, and everything else "other"', () => {
    expect(['DRIVER_CRASHED', 'DRIVER_TIMEOUT', 'DRIVER_PROTOCOL', 'DRIVER_CLOSED', 'X'].map(crashReason)).toEqual([
      'crash',
      'timeout',
      'protocol',
      'other',
      'other',
    ]);
  });
});
