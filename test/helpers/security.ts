// Helpers for tests of users, sessions and 2FA: invite a user and follow the confirmation link in
// the real email, sign in, and compute TOTP codes on the test's clock.
import { Secret, TOTP } from 'otpauth';
import type { TestApp } from './app.ts';
import type { ReceivedMail, SmtpTestServer } from './smtp.ts';

export const PASSWORD = 'correct horse battery staple';
let n = 0;

export function uniqueEmail(tag = 'user') {
  n += 1;
  return `${tag}${n}-${Math.random().toString(36).slice(2, 8)}@example.test`;
}

/** The `token` query parameter of the first Coffer link in a message. */
export function linkToken(mail: ReceivedMail): { link: string; token: string } {
  const link = mail.links.find((l) => /[?&]token=/.test(l));
  if (!link) throw new Error(`no link with a token in: ${mail.text}`);
  return { link, token: new URL(link).searchParams.get('token')! };
}

/** The path and query of a link, to request it from the test app. */
export function pathOf(link: string) {
  const u = new URL(link);
  return u.pathname + u.search;
}

export async function inviteAndConfirm(
  api: TestApp,
  smtp: SmtpTestServer,
  adminKey: string,
  opts: { email?: string; role?: 'administrator' | 'custom'; permissions?: string[]; name?: string } = {},
) {
  const email = opts.email ?? uniqueEmail();
  const invited = await api.request('POST', '/v1/users', {
    key: adminKey,
    body: { email, role: opts.role ?? 'custom', permissions: opts.permissions ?? [], ...(opts.name ? { name: opts.name } : {}) },
  });
  if (invited.status !== 201) throw new Error(`invite failed: ${invited.status} ${invited.text}`);
  const { token } = linkToken(smtp.last(email));
  const confirmed = await api.request('POST', '/v1/users/confirm', { body: { token, password: PASSWORD } });
  if (confirmed.status !== 200) throw new Error(`confirm failed: ${confirmed.status} ${confirmed.text}`);
  return { id: invited.body.id as string, email, password: PASSWORD };
}

export async function signIn(api: TestApp, email: string, password = PASSWORD, extra: Record<string, unknown> = {}) {
  return api.request('POST', '/v1/sessions', { body: { email, password, ...extra }, headers: { 'user-agent': 'Mozilla/5.0 Chrome/120.0 Safari/537.36' } });
}

export async function sessionFor(api: TestApp, email: string, password = PASSWORD): Promise<string> {
  const res = await signIn(api, email, password);
  if (res.status !== 201) throw new Error(`sign-in failed: ${res.status} ${res.text}`);
  return res.body.token;
}

export function totpCode(secret: string, at: Date): string {
  return new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' }).generate({ timestamp: at.getTime() });
}
