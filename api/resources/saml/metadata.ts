// Identity-provider metadata: parsing (entity id, single sign-on URL, signing certificates) and
// fetching a metadata URL server-side without letting it reach the inside of the network (SSRF):
// https only, no credentials in the URL, every resolved address must be public unicast (hosts in
// COFFER_SAML_METADATA_TRUSTED_HOSTS excepted), the connection is pinned to the address that was
// checked (no DNS rebinding between the check and the connect), no redirects, a 5-second timeout
// and a 1 MiB cap.
import { X509Certificate, createHash } from 'node:crypto';
import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { DOMParser } from '@xmldom/xmldom';
import ipaddr from 'ipaddr.js';
import { badRequest } from '../../errors.ts';

export const MD_NS = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS_NS = 'http://www.w3.org/2000/09/xmldsig#';
export const REDIRECT_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const POST_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
export const METADATA_MAX_BYTES = 1024 * 1024;
const FETCH_TIMEOUT_MS = 5_000;

export interface IdpMetadata {
  entityId: string;
  ssoUrl: string;
  /** Base64 DER of each signing certificate (no PEM armour, no whitespace). */
  certificates: string[];
}

const invalid = (detail: string) => badRequest('invalid_metadata', `The identity provider metadata is not usable: ${detail}`);

type El = { getAttribute(n: string): string | null; getElementsByTagNameNS(ns: string, n: string): ArrayLike<El>; textContent: string | null; parentNode: unknown };

function all(el: El, ns: string, name: string): El[] {
  return Array.from(el.getElementsByTagNameNS(ns, name));
}

/** Parses SAML 2.0 IdP metadata (an EntityDescriptor, or the first IdP in an EntitiesDescriptor). */
export function parseIdpMetadata(xml: string): IdpMetadata {
  if (Buffer.byteLength(xml) > METADATA_MAX_BYTES) throw invalid('it is larger than 1 MiB');
  if (/<!DOCTYPE/i.test(xml)) throw invalid('a DOCTYPE is not allowed');
  const errors: string[] = [];
  let doc: { documentElement: El | null } | undefined;
  try {
    doc = new DOMParser({
      errorHandler: { warning: () => {}, error: (m: string) => errors.push(m), fatalError: (m: string) => errors.push(m) },
    }).parseFromString(xml, 'text/xml') as unknown as { documentElement: El | null };
  } catch (err) {
    errors.push((err as Error).message);
  }
  if (errors.length || !doc?.documentElement) throw invalid(`it is not well-formed XML (${(errors[0] ?? 'no root element').split('\n')[0]})`);
  const root = doc.documentElement;
  const descriptors = [root, ...all(root, MD_NS, 'EntityDescriptor')].filter(
    (e) => (e as unknown as { localName: string; namespaceURI: string }).localName === 'EntityDescriptor'
      && (e as unknown as { namespaceURI: string }).namespaceURI === MD_NS
      && all(e, MD_NS, 'IDPSSODescriptor').length > 0,
  );
  const entity = descriptors[0];
  if (!entity) throw invalid('no EntityDescriptor with an IDPSSODescriptor (is this the identity provider\'s metadata?)');
  const entityId = entity.getAttribute('entityID')?.trim();
  if (!entityId) throw invalid('the EntityDescriptor has no entityID');
  const idp = all(entity, MD_NS, 'IDPSSODescriptor')[0]!;

  const services = all(idp, MD_NS, 'SingleSignOnService');
  const redirect = services.find((s) => s.getAttribute('Binding') === REDIRECT_BINDING);
  if (!redirect) {
    const post = services.some((s) => s.getAttribute('Binding') === POST_BINDING);
    throw invalid(post ? 'Coffer sends AuthnRequests with the HTTP-Redirect binding and the metadata offers only HTTP-POST' : 'no SingleSignOnService');
  }
  const ssoUrl = redirect.getAttribute('Location')?.trim() ?? '';
  let parsed: URL;
  try {
    parsed = new URL(ssoUrl);
  } catch {
    throw invalid(`the SingleSignOnService location "${ssoUrl}" is not a URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw invalid('the SingleSignOnService location must be an http(s) URL');

  const certificates: string[] = [];
  for (const kd of all(idp, MD_NS, 'KeyDescriptor')) {
    const use = kd.getAttribute('use');
    if (use && use !== 'signing') continue;
    for (const c of all(kd, DS_NS, 'X509Certificate')) {
      const b64 = (c.textContent ?? '').replace(/\s+/g, '');
      if (!b64) continue;
      try {
        new X509Certificate(Buffer.from(b64, 'base64'));
      } catch {
        throw invalid('a signing certificate is not a valid X.509 certificate');
      }
      if (!certificates.includes(b64)) certificates.push(b64);
    }
  }
  if (!certificates.length) throw invalid('no signing certificate (KeyDescriptor use="signing" with an X509Certificate)');
  return { entityId, ssoUrl, certificates };
}

export function toPem(b64: string): string {
  return `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
}

export function certificateInfo(b64: string) {
  const cert = new X509Certificate(Buffer.from(b64, 'base64'));
  return {
    subject: cert.subject.replace(/\n/g, ', '),
    fingerprint_sha256: createHash('sha256').update(Buffer.from(b64, 'base64')).digest('hex').match(/.{2}/g)!.join(':').toUpperCase(),
    not_before: new Date(cert.validFrom).toISOString(),
    not_after: new Date(cert.validTo).toISOString(),
  };
}

const forbiddenUrl = (detail: string) => badRequest('metadata_url_forbidden', detail);
const fetchFailed = (detail: string) => badRequest('metadata_fetch_failed', `Could not fetch the metadata URL: ${detail}`);

/** Public unicast only: no loopback, private, link-local, unique-local, multicast or reserved address. */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
  return ip.range() === 'unicast';
}

export interface FetchPolicy {
  /** Host names or literal addresses that may be fetched over http and may resolve to private addresses. */
  trustedHosts: readonly string[];
}

/** Fetches IdP metadata from a URL under the SSRF rules above; answers the body as text. */
export async function fetchMetadata(rawUrl: string, policy: FetchPolicy): Promise<string> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw forbiddenUrl('`metadata_url` is not a URL.');
  }
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const trusted = policy.trustedHosts.map((h) => h.toLowerCase()).includes(host);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && trusted)) throw forbiddenUrl('`metadata_url` must be an https URL.');
  if (url.username || url.password) throw forbiddenUrl('`metadata_url` must not carry credentials.');

  let addresses: { address: string; family: number }[];
  try {
    addresses = ipaddr.isValid(host) ? [{ address: host, family: host.includes(':') ? 6 : 4 }] : await dnsLookup(host, { all: true, verbatim: true });
  } catch {
    throw fetchFailed(`the host ${host} does not resolve.`);
  }
  if (!addresses.length) throw fetchFailed(`the host ${host} does not resolve.`);
  if (!trusted && !addresses.every((a) => isPublicAddress(a.address))) {
    throw forbiddenUrl(`\`metadata_url\` resolves to a private or reserved address; Coffer fetches metadata only from public hosts.`);
  }
  const pinned = addresses[0]!;
  // Connect to the address that was checked, whatever the name resolves to by then.
  const lookup: LookupFunction = (_hostname, options, callback) => {
    if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };

  return new Promise<string>((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    const req = client.request(url, { method: 'GET', lookup, headers: { accept: 'application/samlmetadata+xml, application/xml, text/xml' }, timeout: FETCH_TIMEOUT_MS }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400) {
        res.resume();
        return reject(fetchFailed(`it answered a redirect (${status}); give the final URL.`));
      }
      if (status !== 200) {
        res.resume();
        return reject(fetchFailed(`it answered HTTP ${status}.`));
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > METADATA_MAX_BYTES) {
          req.destroy();
          reject(fetchFailed('the document is larger than 1 MiB.'));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', (err) => reject(fetchFailed(err.message)));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => reject(fetchFailed(err.message)));
    req.end();
  });
}
