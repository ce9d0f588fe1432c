// A local SAML identity provider for tests: its own RSA key pair and a self-signed X.509 certificate
// (built here with node:crypto: DER by hand, signed with the private key), its metadata served over
// HTTP on 127.0.0.1, and signed SAML responses (xml-crypto) that tests can forge, tamper with,
// expire or address to the wrong audience.
import type { Test } from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSign, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { recordSecret } from './secret-record.ts';
import { inflateRawSync } from 'node:zlib';
import { SignedXml } from 'xml-crypto';

// --- minimal DER ----------------------------------------------------------------------------
function der(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  let len: Buffer;
  if (body.length < 0x80) len = Buffer.from([body.length]);
  else {
    const bytes: number[] = [];
    for (let n = body.length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
    len = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), len, body]);
}
const seq = (...p: Buffer[]) => der(0x30, ...p);
const oid = (dotted: string) => {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [a! * 40 + b!];
  for (const n of rest) {
    const bytes = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) bytes.unshift((v & 0x7f) | 0x80);
    out.push(...bytes);
  }
  return der(0x06, Buffer.from(out));
};
const utf8 = (s: string) => der(0x0c, Buffer.from(s, 'utf8'));
const utcTime = (d: Date) => der(0x17, Buffer.from(d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z'));
const name = (cn: string) => seq(der(0x31, seq(oid('2.5.4.3'), utf8(cn))));

export interface IdpKeys {
  privateKey: KeyObject;
  privateKeyPem: string;
  /** Base64 DER, as in metadata. */
  certB64: string;
  certPem: string;
}

/** An RSA-2048 key pair and a self-signed certificate for it (sha256WithRSAEncryption). */
export function makeIdpKeys(cn = 'test-idp.example.test'): IdpKeys {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const sha256Rsa = seq(oid('1.2.840.113549.1.1.11'), der(0x05));
  const now = Date.now();
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([2]))),
    der(0x02, Buffer.concat([Buffer.from([0x01]), randomBytes(8)])),
    sha256Rsa,
    name(cn),
    seq(utcTime(new Date(now - 86_400_000)), utcTime(new Date(now + 365 * 86_400_000))),
    name(cn),
    publicKey.export({ type: 'spki', format: 'der' }),
  );
  const signature = createSign('sha256').update(tbs).sign(privateKey);
  const cert = seq(tbs, sha256Rsa, der(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const certB64 = cert.toString('base64');
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  // A PEM's second line is key material only (the first starts with the same header in every key):
  // found in a log however its line breaks were escaped.
  recordSecret('SAML private key', privateKeyPem.split('\n')[2]);
  recordSecret('SAML private key', privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64'));
  return {
    privateKey,
    privateKeyPem,
    certB64,
    certPem: `-----BEGIN CERTIFICATE-----\n${certB64.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`,
  };
}

export interface ResponseOptions {
  /** The AuthnRequest id this answers (from the login redirect). */
  inResponseTo?: string;
  nameId: string;
  /** The SP entity id the assertion is for. */
  audience: string;
  /** The ACS URL. */
  recipient: string;
  issuer?: string;
  /** When the assertion was issued (default now); the window is [issued − 1 min, issued + 5 min). */
  issuedAt?: Date;
  notOnOrAfter?: Date;
  notBefore?: Date;
  /** Sign with these keys instead of the IdP's (a forgery). */
  signWith?: IdpKeys;
  /** Change the XML after signing. */
  tamper?: (xml: string) => string;
  assertionId?: string;
}

export interface TestIdp {
  entityId: string;
  ssoUrl: string;
  metadataUrl: string;
  keys: IdpKeys;
  metadataXml: string;
  /** A base64 SAMLResponse with a signed assertion. */
  response(opts: ResponseOptions): string;
  /** The AuthnRequest in a login redirect's Location: its id, ACS URL and issuer. */
  readAuthnRequest(location: string): { id: string; acsUrl: string | null; issuer: string | null; relayState: string | null; xml: string };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');

export function idpMetadata(entityId: string, ssoUrl: string, certB64: string, opts: { bindings?: string[] } = {}) {
  const bindings = opts.bindings ?? ['HTTP-Redirect', 'HTTP-POST'];
  return `<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${esc(entityId)}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
        <ds:X509Data>
          <ds:X509Certificate>${certB64.match(/.{1,76}/g)!.join('\n')}</ds:X509Certificate>
        </ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
${bindings.map((b) => `    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:${b}" Location="${esc(ssoUrl)}"/>`).join('\n')}
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
`;
}

export async function startTestIdp(t: Test): Promise<TestIdp> {
  const keys = makeIdpKeys();
  let metadataXml = '';
  const server = createServer((req, res) => {
    if (req.url === '/metadata') {
      res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' });
      res.end(metadataXml);
    } else if (req.url === '/redirect') {
      res.writeHead(302, { location: '/metadata' });
      res.end();
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const entityId = `http://www.okta.com/exk${randomBytes(6).toString('hex')}`;
  const ssoUrl = `${base}/app/coffer/sso/saml`;
  metadataXml = idpMetadata(entityId, ssoUrl, keys.certB64);

  return {
    entityId,
    ssoUrl,
    metadataUrl: `${base}/metadata`,
    keys,
    metadataXml,
    response(o) {
      const issued = o.issuedAt ?? new Date();
      const notBefore = o.notBefore ?? new Date(issued.getTime() - 60_000);
      const notOnOrAfter = o.notOnOrAfter ?? new Date(issued.getTime() + 5 * 60_000);
      const assertionId = o.assertionId ?? `id${randomBytes(16).toString('hex')}`;
      const issuer = o.issuer ?? entityId;
      const irt = o.inResponseTo ? ` InResponseTo="${esc(o.inResponseTo)}"` : '';
      const assertion =
        `<saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" ID="${assertionId}" IssueInstant="${issued.toISOString()}" Version="2.0">` +
        `<saml2:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">${esc(issuer)}</saml2:Issuer>` +
        `<saml2:Subject><saml2:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${esc(o.nameId)}</saml2:NameID>` +
        `<saml2:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml2:SubjectConfirmationData${irt} NotOnOrAfter="${notOnOrAfter.toISOString()}" Recipient="${esc(o.recipient)}"/></saml2:SubjectConfirmation></saml2:Subject>` +
        `<saml2:Conditions NotBefore="${notBefore.toISOString()}" NotOnOrAfter="${notOnOrAfter.toISOString()}"><saml2:AudienceRestriction><saml2:Audience>${esc(o.audience)}</saml2:Audience></saml2:AudienceRestriction></saml2:Conditions>` +
        `<saml2:AuthnStatement AuthnInstant="${issued.toISOString()}" SessionIndex="${assertionId}"><saml2:AuthnContext><saml2:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml2:AuthnContextClassRef></saml2:AuthnContext></saml2:AuthnStatement>` +
        `<saml2:AttributeStatement><saml2:Attribute Name="email"><saml2:AttributeValue>${esc(o.nameId)}</saml2:AttributeValue></saml2:Attribute></saml2:AttributeStatement>` +
        `</saml2:Assertion>`;
      const responseXml =
        `<saml2p:Response xmlns:saml2p="urn:oasis:names:tc:SAML:2.0:protocol" Destination="${esc(o.recipient)}" ID="id${randomBytes(16).toString('hex')}"${irt} IssueInstant="${issued.toISOString()}" Version="2.0">` +
        `<saml2:Issuer xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion">${esc(issuer)}</saml2:Issuer>` +
        `<saml2p:Status><saml2p:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></saml2p:Status>` +
        assertion +
        `</saml2p:Response>`;
      const signer = o.signWith ?? keys;
      const sig = new SignedXml({
        privateKey: signer.privateKeyPem,
        publicCert: signer.certPem,
        signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
        canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
      });
      sig.addReference({
        xpath: "//*[local-name(.)='Assertion']",
        transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'],
        digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
      });
      sig.computeSignature(responseXml, { location: { reference: "//*[local-name(.)='Assertion']/*[local-name(.)='Issuer']", action: 'after' } });
      let signed = sig.getSignedXml();
      if (o.tamper) signed = o.tamper(signed);
      return Buffer.from(signed, 'utf8').toString('base64');
    },
    readAuthnRequest(location) {
      const url = new URL(location);
      const xml = inflateRawSync(Buffer.from(url.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
      return {
        id: /\sID="([^"]+)"/.exec(xml)![1]!,
        acsUrl: /AssertionConsumerServiceURL="([^"]+)"/.exec(xml)?.[1] ?? null,
        issuer: /<saml:Issuer[^>]*>([^<]+)</.exec(xml)?.[1] ?? null,
        relayState: url.searchParams.get('RelayState'),
        xml,
      };
    },
  };
}
