/**
 * API tokens. The token is shown once at creation; only its SHA-256 is stored (32 random bytes, so a plain
 * hash is enough — there is nothing to brute-force). Names are unique among live tokens, and only a label:
 * a token is identified by its immutable id (ownership and Idempotency-Keys belong to the id).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { MeterHubDatabase } from '../db/database.ts';
import type { DomainMigration } from '../db/migrations.ts';
import { BadInput } from '../errors/common-errors.ts';
import { defineError } from '../errors/meterhub-error.ts';
import { isRole, ROLES, type Role } from './roles.ts';

export const TokenNameTaken = defineError(
  'TOKEN_NAME_TAKEN',
  409,
  '该令牌名称已被使用',
  'A live token already has this name',
);
export const TokenNotFound = defineError('TOKEN_NOT_FOUND', 404, '令牌不存在', 'Token not found');

export interface TokenRow {
  id: string;
  name: string;
  role: string;
  token_sha256: string;
  created_at: string;
  revoked_at: string | null;
}

interface AuthTables {
  api_tokens: TokenRow;
}

export interface TokenInfo {
  id: string;
  name: string;
  role: Role;
  createdAt: string;
  revokedAt: string | null;
}

export const AUTH_MIGRATIONS: DomainMigration[] = [
  {
    name: 'auth_0001_init',
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('api_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('token_sha256', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text')
        .execute();
      await sql`create unique index api_tokens_live_name on api_tokens (name) where revoked_at is null`.execute(db);
    },
  },
];

export const TOKEN_PREFIX = 'mht_';
export const hashToken = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

/** What `create` makes: the prefix and 32 random bytes in base64url (43 characters). */
const TOKEN_RE = /^mht_[A-Za-z0-9_-]{43}$/;

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;

export class TokenStore {
  private readonly db: Kysely<AuthTables>;
  /** sha256 -> token, for a few seconds: a revoked token stops working within `cacheMs`. */
  private readonly cache = new Map<string, { at: number; info: TokenInfo }>();

  constructor(
    database: MeterHubDatabase,
    private readonly cacheMs = 5000,
  ) {
    this.db = database.db as Kysely<AuthTables>;
  }

  async create(name: string, role: string): Promise<{ token: string; info: TokenInfo }> {
    if (!NAME_RE.test(name))
      throw BadInput(
        { field: 'name' },
        { zh: 'name：1-64 个字母、数字或 _.@-', en: 'name: 1-64 letters, digits or _.@-' },
      );
    if (!isRole(role))
      throw BadInput(
        { field: 'role', allowed: ROLES },
        { zh: `role：${ROLES.join('|')}`, en: `role: one of ${ROLES.join('|')}` },
      );
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const row: TokenRow = {
      id: randomUUID(),
      name,
      role,
      token_sha256: hashToken(token),
      created_at: new Date().toISOString(),
      revoked_at: null,
    };
    try {
      await this.db.insertInto('api_tokens').values(row).execute();
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === '23505' || code?.startsWith('SQLITE_CONSTRAINT')) throw TokenNameTaken({ name });
      throw e;
    }
    return { token, info: toInfo(row) };
  }

  /**
   * The live token behind a bearer value, or null. Junk costs at most one cheap check: anything not shaped like
   * a token is refused without a lookup, and a well-shaped unknown one costs one indexed lookup. Only live
   * tokens are cached, so a flood of unknown tokens cannot push the real ones out of the cache.
   */
  async verify(token: string): Promise<TokenInfo | null> {
    if (!TOKEN_RE.test(token)) return null;
    const h = hashToken(token);
    const hit = this.cache.get(h);
    if (hit && Date.now() - hit.at < this.cacheMs) return hit.info;
    const row = await this.db.selectFrom('api_tokens').selectAll().where('token_sha256', '=', h).executeTakeFirst();
    const info = row && !row.revoked_at && isRole(row.role) ? toInfo(row) : null;
    if (!info) {
      this.cache.delete(h);
      return null;
    }
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(h, { at: Date.now(), info });
    return info;
  }

  async list(): Promise<TokenInfo[]> {
    const rows = await this.db.selectFrom('api_tokens').selectAll().orderBy('created_at').execute();
    return rows.map(toInfo);
  }

  async liveCount(): Promise<number> {
    const r = await this.db
      .selectFrom('api_tokens')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  async revoke(name: string): Promise<TokenInfo> {
    const row = await this.db
      .selectFrom('api_tokens')
      .selectAll()
      .where('name', '=', name)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (!row) throw TokenNotFound({ name });
    const at = new Date().toISOString();
    await this.db.updateTable('api_tokens').set({ revoked_at: at }).where('id', '=', row.id).execute();
    this.cache.clear();
    return toInfo({ ...row, revoked_at: at });
  }
}

function toInfo(r: TokenRow): TokenInfo {
  return { id: r.id, name: r.name, role: r.role as Role, createdAt: r.created_at, revokedAt: r.revoked_at };
}
