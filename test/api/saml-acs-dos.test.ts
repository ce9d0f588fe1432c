// The ACS is public: whatever anyone posts to it must be refused quickly and must not hold up the
// other requests of the process. A response whose assertion answers no request of ours used to be
// explained (replay or not?) by a regular expression that went quadratic on a long comment full of
// `<Assertion` openings: one 1 MB POST stopped the event loop for many seconds.
import t from 'tap';
import { setUpSaml, acs, startLogin } from '../helpers/saml.ts';
import type { TestApp } from '../helpers/app.ts';

/** A signed-looking response answering no request of ours, padded with a comment of `<Assertion` openings. */
function hostileResponse(base: string, xmlBytes: number): string {
  const xml = Buffer.from(base, 'base64').toString('utf8');
  const padding = `<!--${' <Assertion'.repeat(Math.floor(xmlBytes / 11))} -->`;
  const at = xml.indexOf('>', xml.indexOf('<saml2p:Response')) + 1;
  return Buffer.from(xml.slice(0, at) + padding + xml.slice(at)).toString('base64');
}

/** Sends `post` and, while it runs, /healthz again and again: answers the POST and the slowest /healthz. */
async function whileHealthz(api: TestApp, post: () => Promise<{ status: number; body: any }>) {
  const started = performance.now();
  let done = false;
  const res = post().finally(() => { done = true; });
  let slowest = 0;
  let probes = 0;
  await new Promise((r) => setTimeout(r, 20));
  while (!done || probes < 3) {
    const t0 = performance.now();
    const health = await fetch(`${api.url}/healthz`);
    await health.arrayBuffer();
    slowest = Math.max(slowest, performance.now() - t0);
    probes += 1;
  }
  return { res: await res, elapsed: performance.now() - started, slowest };
}

t.test('a hostile SAMLResponse of nearly 1 MB is refused unread with 413 while /healthz stays fast', async (t) => {
  const { api, idp, admin, email, urls } = await setUpSaml(t);
  const body = hostileResponse(idp.response({ inResponseTo: '_never_sent', nameId: email, audience: urls.entityId, recipient: urls.acsUrl }), 720_000);
  // Under the 1 MiB the form parser used to accept: the regular expression saw all of it.
  const encoded = new URLSearchParams({ SAMLResponse: body }).toString().length;
  t.ok(encoded > 900_000 && encoded < 1_048_576, `${encoded} bytes of form`);

  const { res, elapsed, slowest } = await whileHealthz(api, () => acs(api, admin.accountId, body));
  t.equal(res.status, 413);
  t.equal(res.body.code, 'body_too_large');
  t.ok(elapsed < 2_000, `refused in ${elapsed.toFixed(0)} ms`);
  t.ok(slowest < 500, `the slowest /healthz during it took ${slowest.toFixed(0)} ms`);
  const failures = await api.database.sql`select count(*)::int as n from audit_events where account_id = ${admin.accountId} and type = 'sign_in_failed'`;
  t.equal(failures[0]!.n, 0, 'refused before the SAML code saw it');
});

t.test('a hostile SAMLResponse just under the limit is parsed once, linearly, and refused with 401', async (t) => {
  const { api, idp, admin, email, urls } = await setUpSaml(t);
  // Base64 plus form encoding: about 140 KB of XML still fits in 256 KiB of body.
  const body = hostileResponse(idp.response({ inResponseTo: '_never_sent', nameId: email, audience: urls.entityId, recipient: urls.acsUrl }), 140_000);

  const { res, elapsed, slowest } = await whileHealthz(api, () => acs(api, admin.accountId, body));
  t.equal(res.status, 401);
  t.equal(res.body.code, 'saml_invalid_in_response_to');
  t.ok(elapsed < 2_000, `refused in ${elapsed.toFixed(0)} ms`);
  t.ok(slowest < 500, `the slowest /healthz during it took ${slowest.toFixed(0)} ms`);

  // Not a SAML Response at all (another root, a DOCTYPE): refused without asking the SAML library.
  for (const xml of ['<Response/>', '<!DOCTYPE x [<!ENTITY a "b">]><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>']) {
    const bad = await acs(api, admin.accountId, Buffer.from(xml).toString('base64'));
    t.equal(bad.status, 401, xml);
    t.equal(bad.body.code, 'saml_invalid_response', xml);
  }
});

t.test('a replayed assertion is still told apart from an unsolicited one (id read from the parsed document)', async (t) => {
  const { api, idp, admin, email, urls } = await setUpSaml(t);
  const authn = await startLogin(api, idp, admin.accountId);
  const signed = idp.response({ inResponseTo: authn.id, nameId: email, audience: urls.entityId, recipient: urls.acsUrl, assertionId: '_assertion_once' });
  t.equal((await acs(api, admin.accountId, signed)).status, 201);
  const replay = await acs(api, admin.accountId, signed);
  t.equal(replay.status, 401);
  t.equal(replay.body.code, 'saml_replayed');
});
