// The key a client is counted under. `request.ip` is what Fastify resolved under the
// explicit TRUST_PROXY setting, so a client cannot pick its own key with a forged
// X-Forwarded-For. IPv6 clients get a /64 each (one customer's allocation), or one
// client could rotate through 2^64 addresses to reset its budget.
import { isIPv4, isIPv6 } from 'node:net';

/** The eight groups of an IPv6 address, as written (no leading zeros added); null if it is not one. An embedded dotted quad counts as two zero groups. */
export function expandIPv6(address: string): string[] | null {
  const [withoutZone = ''] = address.split('%');
  const halves = withoutZone.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] === '' || halves[0] === undefined ? [] : halves[0].split(':');
  const tail = halves.length === 2 && halves[1] !== '' && halves[1] !== undefined ? halves[1].split(':') : [];
  // A trailing dotted quad stands for the last two groups.
  const last = tail.length > 0 ? tail : head;
  const lastGroup = last.at(-1);
  if (lastGroup !== undefined && lastGroup.includes('.')) last.splice(-1, 1, '0', '0');
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return null;
  return [...head, ...Array<string>(missing).fill('0'), ...tail];
}

/** An IPv4 client seen through an IPv6 socket (`::ffff:1.2.3.4`) is the IPv4 client it is; any other address as given. */
export function plainClientAddress(ip: string): string {
  const lower = ip.toLowerCase();
  return isIPv6(ip) && lower.startsWith('::ffff:') && isIPv4(lower.slice(7)) ? lower.slice(7) : ip;
}

export function clientAddressKey(ip: string): string {
  if (isIPv4(ip)) return ip;
  if (isIPv6(ip)) {
    const lower = ip.toLowerCase();
    if (lower.startsWith('::ffff:') && isIPv4(lower.slice(7))) return lower.slice(7);
    const groups = expandIPv6(ip.toLowerCase());
    if (groups !== null) return `${groups.slice(0, 4).map((group) => group.padStart(4, '0')).join(':')}::/64`;
  }
  return ip;
}
