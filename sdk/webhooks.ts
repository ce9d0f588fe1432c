// Verifying Coffer webhook deliveries.
//
// Every delivery is a POST with a JSON body `{ id, type, created_at, account_id, partner_account_id, data }` and the
// header
//
//   Coffer-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
//
// where `secret` is the endpoint's whole `whsec_…` string (shown once when the endpoint was
// created or its secret rotated). To verify: recompute the HMAC over the *raw* request body (not
// re-serialised JSON), compare in constant time, and refuse timestamps further than the tolerance
// from your clock (default 5 minutes) so a captured request cannot be replayed later. A header may
// carry several `v1=` values; one match is enough. Deliveries are retried, so handle an event id
// you have already seen as a duplicate (the `Coffer-Event-Id` header and the body's `id`).
//
//   import { verifyWebhookSignature } from '@coffer/sdk/webhooks';
//   const result = await verifyWebhookSignature(process.env.COFFER_WEBHOOK_SECRET!, req.headers['coffer-signature'], rawBody);
//   if (!result.valid) return res.writeHead(400).end(result.reason);
//
// WebCrypto (`crypto.subtle`) does the HMAC, so this runs on Node 20+, browsers' service workers,
// Deno, Bun and edge runtimes alike; that makes these functions async. `crypto.subtle.verify`
// compares in constant time.

export const SIGNATURE_HEADER = 'coffer-signature';
export const DEFAULT_TOLERANCE_SECONDS = 300;

export interface VerifyOptions {
  /** How far (seconds) the signed timestamp may be from `now`, either way. Default 300 (5 minutes). */
  toleranceSeconds?: number;
  /** The current time (tests); default `new Date()`. */
  now?: Date | number;
}

export type VerifyResult =
  | { valid: true; timestamp: number }
  | { valid: false; reason: 'missing_header' | 'malformed_header' | 'timestamp_out_of_tolerance' | 'signature_mismatch'; timestamp?: number };

const encoder = new TextEncoder();

function hmacKey(secret: string, usage: 'sign' | 'verify'): Promise<CryptoKey> {
  return globalThis.crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [usage]);
}

/** The signed bytes: `<timestamp>.` followed by the raw body. */
function signedPayload(timestamp: number, rawBody: string | Uint8Array): Uint8Array<ArrayBuffer> {
  const prefix = encoder.encode(`${timestamp}.`);
  const body = typeof rawBody === 'string' ? encoder.encode(rawBody) : rawBody;
  const out = new Uint8Array(prefix.length + body.length);
  out.set(prefix, 0);
  out.set(body, prefix.length);
  return out;
}

const toHex = (bytes: ArrayBuffer) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
const fromHex = (hex: string) => Uint8Array.from(hex.match(/../g)!, (h) => parseInt(h, 16));

/** The hex HMAC-SHA256 a `v1=` value carries (for tests and for signing your own fixtures). */
export async function computeWebhookSignature(secret: string, timestamp: number, rawBody: string | Uint8Array): Promise<string> {
  return toHex(await globalThis.crypto.subtle.sign('HMAC', await hmacKey(secret, 'sign'), signedPayload(timestamp, rawBody)));
}

/** Checks a `Coffer-Signature` header against the raw body. Never rejects. */
export async function verifyWebhookSignature(
  secret: string,
  header: string | string[] | null | undefined,
  rawBody: string | Uint8Array,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  const value = Array.isArray(header) ? header.join(',') : header;
  if (!value) return { valid: false, reason: 'missing_header' };
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of value.split(',')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const key = part.slice(0, i).trim();
    const v = part.slice(i + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(v)) timestamp = Number(v);
    else if (key === 'v1' && /^[0-9a-f]{64}$/i.test(v)) signatures.push(v.toLowerCase());
  }
  if (timestamp === undefined || signatures.length === 0) return { valid: false, reason: 'malformed_header' };
  const now = options.now === undefined ? Date.now() : typeof options.now === 'number' ? options.now : options.now.getTime();
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(Math.floor(now / 1000) - timestamp) > tolerance) return { valid: false, reason: 'timestamp_out_of_tolerance', timestamp };
  const key = await hmacKey(secret, 'verify');
  const payload = signedPayload(timestamp, rawBody);
  let match = false;
  for (const signature of signatures) {
    if (await globalThis.crypto.subtle.verify('HMAC', key, fromHex(signature), payload)) match = true;
  }
  return match ? { valid: true, timestamp } : { valid: false, reason: 'signature_mismatch', timestamp };
}

export interface WebhookEvent<T = Record<string, unknown>> {
  id: string;
  type: string;
  created_at: string;
  account_id: string;
  /** The partner that manages `account_id` (null for none). */
  partner_account_id: string | null;
  data: T;
}

export class WebhookVerificationError extends Error {
  readonly reason: string;
  constructor(reason: string) {
    super(`webhook signature verification failed: ${reason}`);
    this.name = 'WebhookVerificationError';
    this.reason = reason;
  }
}

/** Verifies the signature and parses the event; rejects with WebhookVerificationError when it is not genuine. */
export async function parseWebhookEvent<T = Record<string, unknown>>(
  secret: string,
  header: string | string[] | null | undefined,
  rawBody: string | Uint8Array,
  options: VerifyOptions = {},
): Promise<WebhookEvent<T>> {
  const result = await verifyWebhookSignature(secret, header, rawBody, options);
  if (!result.valid) throw new WebhookVerificationError(result.reason);
  return JSON.parse(typeof rawBody === 'string' ? rawBody : new TextDecoder().decode(rawBody)) as WebhookEvent<T>;
}
