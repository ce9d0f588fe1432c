// Verifying Coffer webhook deliveries.
//
// Every delivery is a POST with a JSON body `{ id, type, created_at, account_id, data }` and the
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
//   import { verifyWebhookSignature } from 'coffer/sdk/webhooks';
//   const result = verifyWebhookSignature(process.env.COFFER_WEBHOOK_SECRET!, req.headers['coffer-signature'], rawBody);
//   if (!result.valid) return res.writeHead(400).end(result.reason);
import { createHmac, timingSafeEqual } from 'node:crypto';

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

export function computeWebhookSignature(secret: string, timestamp: number, rawBody: string | Uint8Array): string {
  const body = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : Buffer.from(rawBody);
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/** Checks a `Coffer-Signature` header against the raw body. Never throws. */
export function verifyWebhookSignature(
  secret: string,
  header: string | string[] | null | undefined,
  rawBody: string | Uint8Array,
  options: VerifyOptions = {},
): VerifyResult {
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
  const expected = Buffer.from(computeWebhookSignature(secret, timestamp, rawBody), 'hex');
  const match = signatures.some((s) => timingSafeEqual(Buffer.from(s, 'hex'), expected));
  return match ? { valid: true, timestamp } : { valid: false, reason: 'signature_mismatch', timestamp };
}

export interface WebhookEvent<T = Record<string, unknown>> {
  id: string;
  type: string;
  created_at: string;
  account_id: string;
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

/** Verifies the signature and parses the event; throws WebhookVerificationError when it is not genuine. */
export function parseWebhookEvent<T = Record<string, unknown>>(
  secret: string,
  header: string | string[] | null | undefined,
  rawBody: string | Uint8Array,
  options: VerifyOptions = {},
): WebhookEvent<T> {
  const result = verifyWebhookSignature(secret, header, rawBody, options);
  if (!result.valid) throw new WebhookVerificationError(result.reason);
  return JSON.parse(typeof rawBody === 'string' ? rawBody : Buffer.from(rawBody).toString('utf8')) as WebhookEvent<T>;
}
