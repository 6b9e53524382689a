/**
 * Settings whose text has a small grammar of its own, parsed where the configuration is turned into the
 * program's objects.
 */

/** METERHUB_TRUST_PROXY / --trust-proxy: "true", "false", or addresses/CIDRs/"loopback", comma separated. */
export function parseTrustProxy(text: string | undefined): boolean | string | string[] | undefined {
  const t = text?.trim();
  if (!t) return undefined;
  if (t === 'true' || t === 'false') return t === 'true';
  const list = t
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  return list.length === 1 ? list[0]! : list;
}
