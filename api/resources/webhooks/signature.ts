// The Coffer-Signature header: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
// The secret is used as the HMAC key exactly as shown (the whole `whsec_…` string). Verifiers:
// sdk/webhooks.ts (tolerance 5 minutes by default).
import { createHmac } from 'node:crypto';

export function signatureHeader(secret: string, body: string, timestamp: number): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}
