/**
 * Runs the frames a plugin ships with its dialect (manifest telemetry.testVectors), like a wmbusmeters driver
 * carries its own telegrams: each frame is decoded with the named profile and compared with what the maker says
 * it means. Used by the plugin tests and the conformance kit.
 */
import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { decodeFrame, frameToReading, fromHex, isReadingFrame, readingRefusal } from '../telemetry/index.ts';
import type { ProfileRegistry } from '../telemetry/profile-registry.ts';
import { isMeterHubError } from '../errors/meterhub-error.ts';
import { ManifestInvalid } from './plugin-errors.ts';
import type { LoadedManifest } from './manifest.ts';
import type { FrameTestVector } from './plugin-types.ts';

export interface VectorResult {
  name: string;
  profile: string;
  ok: boolean;
  /** What differed, in English with the field path (empty when ok). */
  problems: string[];
}

/** The vectors a plugin declares (inline or in a file beside the manifest); [] when none. */
export function testVectorsOf(loaded: Pick<LoadedManifest, 'dir' | 'manifest'>): FrameTestVector[] {
  const ref = loaded.manifest.telemetry?.testVectors;
  if (ref === undefined) return [];
  if (typeof ref !== 'string') return ref;
  const file = resolve(loaded.dir, ref);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw ManifestInvalid(
      { file },
      { zh: `无法读取测试报文文件 ${file}`, en: `cannot read test vectors ${file}: ${(e as Error).message}` },
    );
  }
  if (!Array.isArray(parsed))
    throw ManifestInvalid({ file }, { zh: `${file}：测试报文须为数组`, en: `${file}: test vectors must be an array` });
  return parsed as FrameTestVector[];
}

/** Records every place `actual` differs from the subset `expected` describes. */
function compare(actual: unknown, expected: unknown, path: string, out: string[]): void {
  if (expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {
    if (actual === null || typeof actual !== 'object') {
      out.push(`${path}: expected an object, got ${JSON.stringify(actual)}`);
      return;
    }
    for (const [k, v] of Object.entries(expected))
      compare((actual as Record<string, unknown>)[k], v, `${path}.${k}`, out);
    return;
  }
  if (JSON.stringify(actual) !== JSON.stringify(expected))
    out.push(`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

export function runFrameVector(v: FrameTestVector, profiles: ProfileRegistry): VectorResult {
  const problems: string[] = [];
  const done = () => ({ name: v.name, profile: v.profile, ok: problems.length === 0, problems });
  let profile;
  let bytes;
  try {
    profile = profiles.get(v.profile);
    bytes = fromHex(v.hex);
  } catch (e) {
    if (!isMeterHubError(e)) throw e;
    problems.push(`${e.code}: ${e.en}`);
    return done();
  }
  const res = decodeFrame(bytes, profile);
  if (!res.ok) {
    if (v.expect.error !== res.code) problems.push(`decode: expected ${v.expect.error ?? 'a frame'}, got ${res.code}`);
    return done();
  }
  if (v.expect.error) problems.push(`decode: expected ${v.expect.error}, got a frame`);
  const refusal = readingRefusal(res.frame, profile);
  if ((refusal?.code ?? undefined) !== v.expect.refusal) {
    problems.push(`refusal: expected ${v.expect.refusal ?? 'none'}, got ${refusal?.code ?? 'none'}`);
  }
  if (v.expect.reading) {
    if (refusal || !isReadingFrame(res.frame)) problems.push('reading: the frame gives no reading');
    else
      compare(
        frameToReading(res.frame, profile, { source: 'serial', raw: res.raw }),
        v.expect.reading,
        'reading',
        problems,
      );
  }
  return done();
}
