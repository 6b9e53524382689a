/**
 * Issue 13 row 12: reading cursors are strings of digits end to end (no precision lost above 2^53), and each
 * billing consumer has its own cursor, identified by its token id (req.actor.tokenId) or an explicit name.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MeterHubDatabase } from '../db/database.ts';
import { isMeterHubError } from '../errors/meterhub-error.ts';
import { createReadingPipeline, type ReadingPipeline } from './pipeline.ts';
import { readingRoutes } from './routes.ts';
import { fakeReading, tempSqlite, type TempDatabase } from './testing/fixtures.ts';

const TOKENS: Record<string, { tokenId: string; name: string; role: 'billing' | 'ops' }> = {
  'Bearer a': { tokenId: 'tok-a', name: 'billing-a', role: 'billing' },
  'Bearer b': { tokenId: 'tok-b', name: 'billing-b', role: 'billing' },
  'Bearer ops': { tokenId: 'tok-ops', name: 'ops', role: 'ops' },
};

describe('REST feed cursors', () => {
  let temp: TempDatabase;
  let db: MeterHubDatabase;
  let pipeline: ReadingPipeline;
  let app: FastifyInstance;

  beforeEach(async () => {
    temp = tempSqlite();
    db = temp.open();
    pipeline = createReadingPipeline({ database: db, dispatcher: { pollMs: 10 } });
    await pipeline.start();
    app = Fastify();
    app.setErrorHandler((e, _req, reply) => {
      if (isMeterHubError(e)) return reply.status(e.status).send(e.toJSON());
      return reply.status((e as { statusCode?: number }).statusCode ?? 500).send({ message: (e as Error).message });
    });
    // Stands in for core/server/auth-hooks.ts authenticate + authorize: sets req.actor the same way.
    const role = (want: string) => async (req: any, reply: any) => {
      const t = TOKENS[req.headers.authorization ?? ''];
      if (!t) return reply.status(401).send({ code: 'UNAUTHORIZED' });
      req.actor = { ...t, channel: t.role };
      if (t.role !== want) return reply.status(403).send({ code: 'FORBIDDEN' });
    };
    await app.register(readingRoutes, { pipeline, authorize: role('billing'), authorizeOps: role('ops') });
  });

  afterEach(async () => {
    await app.close();
    await pipeline.close();
    await db.close();
    await temp.drop();
  });

  const get = (url: string, who = 'Bearer a') => app.inject({ method: 'GET', url, headers: { authorization: who } });

  it('pages above 2^53 without repeating or skipping a reading (cursors are digit strings)', async () => {
    // A feed that has run long: the next position is 2^53 + 1, which a JS number cannot hold.
    await sql`insert into reading_feed (pos, reading_id, added_at) values (${9007199254740992n}, 'gone', 0)`.execute(
      db.db,
    );
    const res = await pipeline.submit([fakeReading(1), fakeReading(2), fakeReading(3)]);
    expect(await pipeline.drained(10_000)).toBe(true);
    const seen: string[] = [];
    const cursors: string[] = [];
    let cursor = '9007199254740992';
    for (let i = 0; i < 8; i++) {
      const r = await get(`/v1/readings?after=${cursor}&limit=1`);
      expect(r.statusCode).toBe(200);
      const body = r.json() as { items: Array<{ id: string; cursor: string }>; nextCursor: string };
      expect(typeof body.nextCursor).toBe('string');
      if (!body.items.length) break;
      seen.push(body.items[0]!.id);
      cursors.push(body.items[0]!.cursor);
      cursor = body.nextCursor;
    }
    expect(cursors).toEqual(['9007199254740993', '9007199254740994', '9007199254740995']);
    expect(seen.sort()).toEqual(res.inserted.map((x) => x.id).sort());
    const ops = await get('/v1/readings/sinks', 'Bearer ops');
    const rest = (
      ops.json().sinks as Array<{ sink: string; consumers: Array<{ consumer: string; cursor: string }> }>
    ).find((s) => s.sink === 'rest')!;
    expect(rest.consumers.find((c) => c.consumer === 'tok-a')?.cursor).toBe('9007199254740995');
  });

  it('refuses cursors that are not int64 digit strings', async () => {
    for (const bad of ['-1', '1e3', '9223372036854775808', '12345678901234567890', 'x']) {
      const r = await get(`/v1/readings?after=${bad}`);
      expect(r.statusCode).toBe(400);
    }
    expect((await get('/v1/readings?after=9223372036854775807')).statusCode).toBe(200);
  });

  it('each consumer has its own cursor; another consumer cannot move it, and ops see them all', async () => {
    await pipeline.submit(Array.from({ length: 12 }, (_, i) => fakeReading(i)));
    expect(await pipeline.drained(10_000)).toBe(true);
    // A reads everything and acknowledges it by asking after the last cursor.
    const all = (await get('/v1/readings?after=0&limit=100')).json() as { nextCursor: string };
    await get(`/v1/readings?after=${all.nextCursor}`);
    // B starts late, at 0; a named consumer behind token B keeps a cursor of its own.
    await get('/v1/readings?after=0&limit=5', 'Bearer b');
    await get('/v1/readings?after=3&limit=5&consumer=audit', 'Bearer b');
    const consumers = (
      (await get('/v1/readings/sinks', 'Bearer ops')).json().sinks as Array<{ sink: string; consumers: any[] }>
    ).find((s) => s.sink === 'rest')!.consumers;
    const by = new Map(consumers.map((c) => [c.consumer, c]));
    expect(by.get('tok-a')).toMatchObject({ cursor: all.nextCursor, backlog: 0, tokenName: 'billing-a' });
    expect(by.get('tok-b')).toMatchObject({ cursor: '0', backlog: 12, tokenName: 'billing-b' });
    expect(by.get('tok-b/audit')).toMatchObject({ cursor: '3', backlog: 9 });
    expect(consumers).toHaveLength(3);
  });

  it('a consumer name is bounded and validated', async () => {
    expect((await get('/v1/readings?consumer=' + 'x'.repeat(65))).statusCode).toBe(400);
    expect((await get('/v1/readings?consumer=a%20b')).statusCode).toBe(400);
  });
});
