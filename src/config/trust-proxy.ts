// TRUST_PROXY decides whose X-Forwarded-For is believed, and so which client address
// rate limits and audit records see. Trusting too much lets any client choose its IP.
import { isIP } from 'node:net';
import { accept, parseInteger, refuse, type Parsed } from './parse-values.ts';

/** Fastify's `trustProxy`: none, every hop, a hop count, or the proxies' addresses/CIDR ranges. */
export type TrustProxy = boolean | number | readonly string[];

const PREFIX_PATTERN = /^(0|[1-9][0-9]{0,2})$/;

function isAddressOrRange(entry: string): boolean {
  const [address = '', prefix, extra] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  return PREFIX_PATTERN.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

export function parseTrustProxy(raw: string): Parsed<TrustProxy> {
  if (raw === 'false') return accept(false);
  if (raw === 'true') return accept(true);
  if (/^[0-9]+$/.test(raw)) return parseInteger(raw, { min: 1, max: 10 });
  const entries = raw.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  const bad = entries.findIndex((entry) => !isAddressOrRange(entry));
  if (entries.length === 0 || bad !== -1) {
    const where = bad === -1 ? '' : ` (entry ${bad + 1} is not an IP address or CIDR range)`;
    return refuse(`must be false, true, a hop count from 1 to 10, or a comma list of IP addresses and CIDR ranges${where}`);
  }
  return accept(entries);
}
