// Parsing and matching of trusted addresses (IPv4 and IPv6): single addresses, inclusive ranges,
// CIDR blocks. IPv4-mapped IPv6 addresses (::ffff:1.2.3.4, what a dual-stack socket reports) are
// treated as the IPv4 address they carry.
import ipaddr from 'ipaddr.js';

export type Ip = ipaddr.IPv4 | ipaddr.IPv6;

export interface Rule {
  kind: 'addresses' | 'range' | 'cidr';
  addresses: string[] | null;
  rangeFrom: string | null;
  rangeTo: string | null;
  cidr: string | null;
}

/** A strictly written address (dotted quad, or IPv6 without a zone), or null. */
export function parseAddress(value: string): Ip | null {
  const s = value.trim();
  if (ipaddr.IPv4.isValidFourPartDecimal(s)) return ipaddr.IPv4.parse(s);
  if (ipaddr.IPv6.isValid(s) && !s.includes('%')) {
    const v6 = ipaddr.IPv6.parse(s);
    return v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6;
  }
  return null;
}

export function normalizeAddress(value: string): string | null {
  const ip = parseAddress(value);
  return ip ? ip.toString() : null;
}

/** `a.b.c.d/n` or `v6/n`, normalised to the network address; null when malformed. */
export function normalizeCidr(value: string): string | null {
  const s = value.trim();
  const slash = s.indexOf('/');
  if (slash < 0) return null;
  const ip = parseAddress(s.slice(0, slash));
  const bitsText = s.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(bitsText)) return null;
  const bits = Number(bitsText);
  if (bits > (ip.kind() === 'ipv4' ? 32 : 128)) return null;
  const network = ip.kind() === 'ipv4'
    ? ipaddr.IPv4.networkAddressFromCIDR(`${ip.toString()}/${bits}`)
    : ipaddr.IPv6.networkAddressFromCIDR(`${ip.toString()}/${bits}`);
  return `${network.toString()}/${bits}`;
}

export function compare(a: Ip, b: Ip): number {
  const x = a.toByteArray();
  const y = b.toByteArray();
  if (x.length !== y.length) return x.length - y.length;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

export function ruleMatches(rule: Rule, ip: Ip): boolean {
  switch (rule.kind) {
    case 'addresses':
      return (rule.addresses ?? []).some((a) => {
        const p = parseAddress(a);
        return p !== null && p.kind() === ip.kind() && compare(p, ip) === 0;
      });
    case 'range': {
      const from = rule.rangeFrom ? parseAddress(rule.rangeFrom) : null;
      const to = rule.rangeTo ? parseAddress(rule.rangeTo) : null;
      return !!from && !!to && from.kind() === ip.kind() && compare(from, ip) <= 0 && compare(ip, to) <= 0;
    }
    case 'cidr': {
      if (!rule.cidr) return false;
      const [net, bits] = ipaddr.parseCIDR(rule.cidr);
      return net.kind() === ip.kind() && (ip as ipaddr.IPv4).match(net as ipaddr.IPv4, bits);
    }
  }
}

/** Is the client address inside any rule? An unparseable address is outside. */
export function isAllowed(rules: Rule[], clientIp: string): boolean {
  const ip = parseAddress(clientIp);
  if (!ip) return false;
  return rules.some((r) => ruleMatches(r, ip));
}
