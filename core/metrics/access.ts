/**
 * Who may read GET /metrics. Metrics name makers, sinks, buses and meter addresses, so they are not public:
 *  - an API token with the ops role, or
 *  - the scrape token METERHUB_METRICS_TOKEN (Prometheus `authorization: { credentials_file: … }`): a
 *    separate secret that can read metrics and nothing else, so Prometheus never holds an ops token, or
 *  - a client address in the allow-list METERHUB_METRICS_ALLOW (IPs and CIDRs, comma separated; the address
 *    fastify sees, i.e. the proxy's unless trustProxy is on).
 * Nothing is allowed by default: with no token and no list only ops tokens can scrape.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import type { FastifyRequest } from 'fastify';
import { BadInput, Forbidden, Unauthorized } from '../errors/common-errors.ts';

export interface MetricsAccessConfig {
  /** Bearer token that may read /metrics only (at least 16 characters). */
  token?: string | undefined;
  /** IPs or CIDRs ("10.0.0.0/8", "::1") allowed without a token. */
  allow?: string[] | undefined;
}

const sha = (s: string) => createHash('sha256').update(s).digest();

/** "::ffff:10.1.2.3" is the IPv4 client on a dual-stack socket. */
function normaliseIp(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1]! : ip;
}

export function buildAllowList(entries: string[]): BlockList {
  const list = new BlockList();
  for (const raw of entries) {
    const [addr, bits] = raw.split('/');
    const ip = normaliseIp(addr ?? '');
    const family = isIP(ip);
    if (!family)
      throw BadInput(
        { field: 'METERHUB_METRICS_ALLOW', value: raw.slice(0, 60) },
        { zh: `不是 IP 或 CIDR：${raw.slice(0, 60)}`, en: `not an IP or CIDR: ${raw.slice(0, 60)}` },
      );
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(ip, type);
    else {
      const prefix = Number(bits);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) {
        throw BadInput(
          { field: 'METERHUB_METRICS_ALLOW', value: raw.slice(0, 60) },
          { zh: `前缀长度不对：${raw.slice(0, 60)}`, en: `bad prefix length: ${raw.slice(0, 60)}` },
        );
      }
      list.addSubnet(ip, prefix, type);
    }
  }
  return list;
}

export class MetricsAccess {
  private readonly tokenHash?: Buffer;
  private readonly allow?: BlockList;

  constructor(config: MetricsAccessConfig = {}) {
    if (config.token !== undefined) {
      if (config.token.length < 16) {
        throw BadInput(
          { field: 'METERHUB_METRICS_TOKEN' },
          { zh: '抓取令牌至少 16 个字符', en: 'the scrape token must be at least 16 characters' },
        );
      }
      this.tokenHash = sha(config.token);
    }
    if (config.allow?.length) this.allow = buildAllowList(config.allow);
  }

  allowedAddress(ip: string | undefined): boolean {
    if (!this.allow || !ip) return false;
    const v = normaliseIp(ip);
    const family = isIP(v);
    return family !== 0 && this.allow.check(v, family === 4 ? 'ipv4' : 'ipv6');
  }

  /** preHandler for /metrics: throws 401/403 MeterHubErrors. */
  check(req: FastifyRequest): void {
    if (req.actor?.role === 'ops') return;
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (m && this.tokenHash && timingSafeEqual(sha(m[1]!), this.tokenHash)) return;
    if (this.allowedAddress(req.ip)) return;
    // No token, or one that is neither a live API token nor the scrape token: not authenticated (401).
    if (!req.actor) throw Unauthorized();
    throw Forbidden(
      { route: '/metrics' },
      {
        zh: '只有运维令牌、抓取令牌（METERHUB_METRICS_TOKEN）或白名单地址（METERHUB_METRICS_ALLOW）可以读取指标',
        en: 'metrics need an ops token, the scrape token (METERHUB_METRICS_TOKEN) or an allow-listed address (METERHUB_METRICS_ALLOW)',
      },
    );
  }
}
