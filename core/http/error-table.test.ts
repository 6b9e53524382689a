/**
 * The error tables are the only source of an answer's status and Retry-After. Every kind declared anywhere
 * (found by walking the source for defineError) is thrown through the API's error handler and must leave with
 * exactly its declared status, Retry-After iff its table declares a retry, and the bilingual body.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorHandler } from '../server/api-errors.ts';
import { DriverCrashed, DriverHostError, DriverOutputInvalid, DriverTimeout } from '../driver/driver-errors.ts';
import type { ErrorKind } from '../errors/meterhub-error.ts';
import { IdentifyIncomplete } from '../plugins/plugin-errors.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

function sourcesDeclaringErrors(dir: string): string[] {
  const out: string[] = [];
  for (const ent of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, ent.name);
    if (ent.isDirectory()) {
      if (ent.name !== 'node_modules' && ent.name !== 'test-fixtures') out.push(...sourcesDeclaringErrors(p));
    } else if (ent.name.endsWith('.ts') && !ent.name.endsWith('.test.ts') && !ent.name.endsWith('.d.ts')) {
      if (/\bdefineError\(\s*'/.test(readFileSync(p, 'utf8'))) out.push(p);
    }
  }
  return out;
}

const isKind = (v: unknown): v is ErrorKind =>
  typeof v === 'function' &&
  typeof (v as Partial<ErrorKind>).is === 'function' &&
  typeof (v as Partial<ErrorKind>).spec?.code === 'string';

const kinds = new Map<string, { kind: ErrorKind; where: string }>();
let app: FastifyInstance;

beforeAll(async () => {
  for (const file of ['core', 'gateways', 'plugins'].flatMap((d) => sourcesDeclaringErrors(join(ROOT, d)))) {
    const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    for (const [name, v] of Object.entries(mod))
      if (isKind(v)) kinds.set(v.spec.code, { kind: v, where: `${relative(ROOT, file)}:${name}` });
  }
  app = Fastify();
  app.setErrorHandler(errorHandler);
  app.get('/throw/:code', async (req) => {
    const { code } = req.params as { code: string };
    throw kinds.get(code)!.kind({ probe: true });
  });
  app.post('/throw-with', async (req) => {
    const { code, details } = req.body as { code: string; details: Record<string, unknown> };
    throw kinds.get(code)!.kind(details);
  });
  await app.ready();
}, 120_000);
afterAll(async () => app?.close());

describe('error tables', () => {
  it('are found: the walk sees every table, with the driver and plugin kinds among them', () => {
    // A walk that found nothing would pass every check below vacuously.
    expect(kinds.size).toBeGreaterThan(150);
    for (const k of [DriverCrashed, DriverHostError, DriverOutputInvalid, IdentifyIncomplete])
      expect(kinds.get(k.spec.code)?.kind).toBe(k);
  });

  it('every kind leaves the API with its declared status, Retry-After iff it declares a retry, and its own body', async () => {
    const wrong: string[] = [];
    for (const [code, { kind, where }] of kinds) {
      const r = await app.inject({ method: 'GET', url: `/throw/${code}` });
      const body = r.json() as {
        error: { code: string; messageZh: string; messageEn: string; message: string; details: unknown };
      };
      const retryAfter = r.headers['retry-after'];
      if (r.statusCode !== kind.spec.status) wrong.push(`${where}: declared ${kind.spec.status}, sent ${r.statusCode}`);
      if ((retryAfter !== undefined) !== (kind.spec.retry !== undefined))
        wrong.push(`${where}: retry ${JSON.stringify(kind.spec.retry)}, Retry-After ${retryAfter}`);
      if (body.error.code !== code || body.error.messageZh !== kind.spec.zh || body.error.messageEn !== kind.spec.en)
        wrong.push(`${where}: body ${r.body}`);
      expect(body.error).toEqual({
        code,
        message: `${kind.spec.zh} / ${kind.spec.en}`,
        messageZh: kind.spec.zh,
        messageEn: kind.spec.en,
        details: { probe: true },
      });
    }
    expect(wrong).toEqual([]);
  });

  it('the driver layer declares what the API used to derive from the DRIVER_ prefix: 503 + Retry-After, 502 without', () => {
    const driverKinds = [...kinds.values()].filter((k) => k.kind.spec.code.startsWith('DRIVER_'));
    expect(driverKinds.map((k) => k.kind.spec.code).sort()).toEqual([
      'DRIVER_CLOSED',
      'DRIVER_CRASHED',
      'DRIVER_HOST_ERROR',
      'DRIVER_OUTPUT_INVALID',
      'DRIVER_OVERLOADED',
      'DRIVER_PROTOCOL',
      'DRIVER_START_FAILED',
      'DRIVER_TIMEOUT',
    ]);
    for (const { kind } of driverKinds) {
      const invalid = kind === DriverOutputInvalid;
      expect([kind.spec.code, kind.spec.status, kind.spec.retry !== undefined, kind.spec.upstream]).toEqual([
        kind.spec.code,
        invalid ? 502 : 503,
        !invalid,
        true,
      ]);
    }
    // Retry-After outside the driver layer: only where a table says so (today, identify with a silent library).
    const others = [...kinds.values()]
      .filter((k) => !k.kind.spec.code.startsWith('DRIVER_') && k.kind.spec.retry)
      .map((k) => k.kind.spec.code);
    expect(others).toEqual(['IDENTIFY_INCOMPLETE']);
  });

  it('the wire is what the removed prefix rule sent, for every code (status and Retry-After)', async () => {
    // The rule core/server/api-errors.ts applied before the tables declared it, kept here as the reference.
    const legacy = (code: string, declared: number) => ({
      status: code === 'DRIVER_OUTPUT_INVALID' ? 502 : code.startsWith('DRIVER_') ? 503 : declared,
      retryAfter:
        (code.startsWith('DRIVER_') && code !== 'DRIVER_OUTPUT_INVALID') || code === 'IDENTIFY_INCOMPLETE'
          ? '1'
          : undefined,
    });
    const differs: string[] = [];
    for (const [code, { kind, where }] of kinds) {
      const r = await app.inject({ method: 'GET', url: `/throw/${code}` });
      const want = legacy(code, kind.spec.status);
      if (r.statusCode !== want.status || r.headers['retry-after'] !== want.retryAfter) {
        differs.push(`${where}: ${r.statusCode} ${r.headers['retry-after']} (was ${want.status} ${want.retryAfter})`);
      }
    }
    expect(differs).toEqual([]);
  });

  it('a DRIVER_* error carries Retry-After from its table, or the supervisor backoff in its details, never below 1 s', async () => {
    const send = (code: string, details: Record<string, unknown>) =>
      app.inject({ method: 'POST', url: '/throw-with', payload: { code, details } });
    const plain = await send(DriverHostError.spec.code, { library: 'x' });
    expect([plain.statusCode, plain.headers['retry-after']]).toEqual([
      503,
      String(DriverHostError.spec.retry!.afterSeconds),
    ]);
    const backoff = await send(DriverCrashed.spec.code, { retryAfterSeconds: 2.2 });
    expect([backoff.statusCode, backoff.headers['retry-after']]).toEqual([503, '3']);
    const tiny = await send(DriverTimeout.spec.code, { retryAfterSeconds: 0.01 });
    expect([tiny.statusCode, tiny.headers['retry-after']]).toEqual([503, '1']);
    const invalid = await send(DriverOutputInvalid.spec.code, { retryAfterSeconds: 5 });
    expect([invalid.statusCode, invalid.headers['retry-after']]).toEqual([502, undefined]);
  });

  it('X.is(e) tells kinds apart by the table, not by a look-alike error', () => {
    const e = DriverCrashed({});
    expect([
      DriverCrashed.is(e),
      DriverTimeout.is(e),
      DriverCrashed.is(new Error('[DRIVER_CRASHED]')),
      DriverCrashed.is({ code: 'DRIVER_CRASHED' }),
    ]).toEqual([true, false, false, false]);
    expect([e.retryable, DriverOutputInvalid({}).retryable, e.upstream]).toEqual([true, false, true]);
  });
});
