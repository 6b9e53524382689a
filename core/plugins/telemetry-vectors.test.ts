/** The vector runner reports each mismatch with its field, so a maker sees which meaning is wrong. */
import { describe, expect, it } from 'vitest';
import { ProfileRegistry } from '../telemetry/profile-registry.ts';
import { buildReadReply, toHex } from '../telemetry/index.ts';
import { runFrameVector } from './telemetry-vectors.ts';

const profiles = new ProfileRegistry();
const hex = toHex(
  buildReadReply(
    '12345678901234',
    0x901f,
    1,
    {
      cumulative: '5.00',
      settlement: '4.00',
      meterTime: '2024-01-02T03:04:05',
      status: { valve: 'open' },
    },
    'cjt188-company',
  ),
  ' ',
);

describe('frame test vectors', () => {
  it('passes a frame that decodes as declared', () => {
    expect(
      runFrameVector(
        {
          name: 'ok',
          profile: 'cjt188-company',
          hex,
          expect: { reading: { cumulative: '5.00', status: { valve: 'open' } } },
        },
        profiles,
      ),
    ).toEqual({ name: 'ok', profile: 'cjt188-company', ok: true, problems: [] });
  });

  it('names each field that differs, a wrong error expectation, and an unknown profile', () => {
    const bad = runFrameVector(
      {
        name: 'bad',
        profile: 'cjt188-company',
        hex,
        expect: { reading: { cumulative: '6.00', status: { valve: 'closed' } } },
      },
      profiles,
    );
    expect(bad.ok).toBe(false);
    expect(bad.problems).toEqual([
      'reading.cumulative: expected "6.00", got "5.00"',
      'reading.status.valve: expected "closed", got "open"',
    ]);
    expect(
      runFrameVector({ name: 'e', profile: 'cjt188-company', hex, expect: { error: 'FRAME_CHECKSUM' } }, profiles)
        .problems,
    ).toEqual(['decode: expected FRAME_CHECKSUM, got a frame']);
    expect(
      runFrameVector({ name: 'u', profile: 'nope', hex, expect: { error: 'FRAME_CHECKSUM' } }, profiles).problems[0],
    ).toMatch(/^TELEMETRY_PROFILE_UNKNOWN/);
  });
});
