// The SDK's webhook verifier (WebCrypto, async): genuine deliveries pass; forged, tampered,
// replayed (expired) and malformed ones are rejected.
import t from 'tap';
import { computeWebhookSignature, parseWebhookEvent, verifyWebhookSignature, WebhookVerificationError } from '../../sdk/webhooks.ts';
import { signatureHeader } from '../../api/resources/webhooks/signature.ts';

const secret = 'whsec_k3Xb0Q7c1vJ5m8Yp2Lr6Wz9Ta4Ns0Hd1Fg5Ue8Iy3Ow';
const body = JSON.stringify({ id: 'evt_1', type: 'ping', created_at: '2026-03-10T12:00:00.000Z', account_id: 'acct_1', data: { message: 'hi' } });
const t0 = 1_773_144_000; // 2026-03-10T12:00:00Z
const at = (seconds: number) => new Date((t0 + seconds) * 1000);

t.test('a genuine signature verifies (the server signs exactly what the SDK checks)', async (t) => {
  const header = signatureHeader(secret, body, t0);
  t.equal(header, `t=${t0},v1=${await computeWebhookSignature(secret, t0, body)}`);
  t.same(await verifyWebhookSignature(secret, header, body, { now: at(0) }), { valid: true, timestamp: t0 });
  t.same(await verifyWebhookSignature(secret, header, new TextEncoder().encode(body), { now: at(299) }), { valid: true, timestamp: t0 }, 'raw bytes work too');
  t.equal((await verifyWebhookSignature(secret, [header], body, { now: at(-299) })).valid, true, 'a clock slightly behind');
  t.equal((await verifyWebhookSignature(secret, `t=${t0},v1=${'0'.repeat(64)},v1=${await computeWebhookSignature(secret, t0, body)}`, body, { now: at(0) })).valid, true, 'any v1 may match');
  t.same(await parseWebhookEvent(secret, header, body, { now: at(0) }), JSON.parse(body));
  t.same(await parseWebhookEvent(secret, header, new TextEncoder().encode(body), { now: at(0) }), JSON.parse(body), 'bytes are decoded as UTF-8');
});

t.test('forged, tampered, expired and malformed signatures are rejected', async (t) => {
  const header = signatureHeader(secret, body, t0);
  t.same(await verifyWebhookSignature('whsec_someone-else', header, body, { now: at(0) }), { valid: false, reason: 'signature_mismatch', timestamp: t0 }, 'wrong secret');
  t.match(await verifyWebhookSignature(secret, header, body.replace('"hi"', '"hI"'), { now: at(0) }), { valid: false, reason: 'signature_mismatch' }, 'tampered body');
  t.match(await verifyWebhookSignature(secret, header.replace(`t=${t0}`, `t=${t0 + 1}`), body, { now: at(0) }), { valid: false, reason: 'signature_mismatch' }, 'the timestamp is signed');
  t.match(await verifyWebhookSignature(secret, header, body, { now: at(301) }), { valid: false, reason: 'timestamp_out_of_tolerance' }, 'a replay after 5 minutes');
  t.match(await verifyWebhookSignature(secret, header, body, { now: at(-301) }), { valid: false, reason: 'timestamp_out_of_tolerance' }, 'from the future');
  t.equal((await verifyWebhookSignature(secret, header, body, { now: at(3600), toleranceSeconds: 7200 })).valid, true, 'tolerance is configurable');
  const expiredButSigned = signatureHeader(secret, body, t0 - 3600);
  t.match(await verifyWebhookSignature(secret, expiredButSigned, body, { now: at(0) }), { valid: false, reason: 'timestamp_out_of_tolerance' });
  t.match(await verifyWebhookSignature(secret, undefined, body), { valid: false, reason: 'missing_header' });
  t.match(await verifyWebhookSignature(secret, '', body), { valid: false, reason: 'missing_header' });
  for (const bad of ['garbage', `t=${t0}`, 'v1=abc', `t=abc,v1=${'a'.repeat(64)}`, `t=${t0},v1=xyz`, `t=${t0},v0=${'a'.repeat(64)}`]) {
    t.match(await verifyWebhookSignature(secret, bad, body, { now: at(0) }), { valid: false, reason: 'malformed_header' }, `malformed: ${bad}`);
  }
  await t.rejects(parseWebhookEvent('whsec_wrong', header, body, { now: at(0) }), WebhookVerificationError);
  const late = await parseWebhookEvent(secret, header, body, { now: at(1000) }).catch((e: unknown) => e);
  t.ok(late instanceof WebhookVerificationError);
  t.equal((late as WebhookVerificationError).reason, 'timestamp_out_of_tolerance');
});
