// Where webhooks may go. Only http(s) URLs without credentials; unless the server allows private
// targets (COFFER_WEBHOOKS_ALLOW_PRIVATE, used by tests and on-premises installs), a URL naming or
// resolving to a loopback, private, link-local, multicast or otherwise non-public address is refused
// (SSRF). The check runs when an endpoint is saved (literal addresses and local names) and again on
// every delivery, inside the socket's DNS lookup, so a name that later resolves inward (DNS
// rebinding) is refused too.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import ipaddr from 'ipaddr.js';

export class TargetRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetRefused';
  }
}

const LOCAL_NAMES = /(^|\.)(localhost|local|internal|localdomain|home\.arpa)$/i;

/** True when an address is one a public webhook target may have. */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
  return ip.range() === 'unicast';
}

/** Refuses (throws TargetRefused) what is not an acceptable webhook URL; returns the parsed URL. */
export function checkTargetUrl(raw: string, allowPrivate: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TargetRefused('is not a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TargetRefused('must use http or https');
  if (url.username || url.password) throw new TargetRefused('must not carry credentials');
  if (allowPrivate) return url;
  // `localhost.` is `localhost`: a fully qualified name's root dot changes nothing it resolves to.
  const host = url.hostname.replace(/^\[|\]$/g, '').replace(/\.+$/, '');
  if (ipaddr.isValid(host)) {
    if (!isPublicAddress(host)) throw new TargetRefused(`points at a non-public address (${host})`);
  } else if (LOCAL_NAMES.test(host) || !host.includes('.')) {
    throw new TargetRefused(`points at a local host name (${host})`);
  }
  return url;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** Resolves a name to all its addresses (dns.lookup with `all: true`; tests substitute their own). */
export type Resolver = (hostname: string, options: { all: true; family?: number }, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

const systemResolver: Resolver = (hostname, options, callback) => dnsLookup(hostname, options, callback);

/** A `lookup` for http.request that refuses non-public addresses (unless allowed). */
export function guardedLookup(allowPrivate: boolean, resolve: Resolver = systemResolver) {
  return (hostname: string, options: { all?: boolean; family?: number }, callback: LookupCallback) => {
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '');
      const list = addresses as LookupAddress[];
      const bad = allowPrivate ? undefined : list.find((a) => !isPublicAddress(a.address));
      if (bad) return callback(Object.assign(new TargetRefused(`${hostname} resolves to a non-public address (${bad.address})`), { code: 'ETARGETREFUSED' }), '');
      if (options.all) return callback(null, list);
      const first = list[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '');
      callback(null, first.address, first.family);
    });
  };
}
