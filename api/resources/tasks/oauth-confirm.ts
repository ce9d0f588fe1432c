// Binding a Dropbox approval to the browser that agreed to it. The OAuth `state` names a task, so
// anyone holding a task's Dropbox link could have a team administrator approve it and connect
// their team to the link holder's Coffer account without knowing whose it is. So the
// `authorize_url` of a task is a Coffer page first: it shows which Coffer account, user and task
// the team would join, and only its Continue button (a same-site form with a CSRF token) leads to
// Dropbox, after leaving a cookie that seals the state. The callback then connects the task only
// in that browser: a Dropbox link passed on after someone else confirmed is refused.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../../deps.ts';
import { accounts, tasks, users } from '../../../db/schema.ts';
import { ApiError, badRequest, gone } from '../../errors.ts';

export const CSRF_COOKIE = 'coffer_dropbox_csrf';
export const BROWSER_COOKIE = 'coffer_dropbox_approval';
const COOKIE_PATH = '/v1/oauth/dropbox';
const SEAL_CONTEXT = 'dropbox-oauth-browser';

export const hashState = (state: string) => createHash('sha256').update(state).digest('hex');

export function cookies(request: FastifyRequest): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out.set(part.slice(0, i).trim(), decodeURIComponent(part.slice(i + 1).trim()));
  }
  return out;
}

function setCookie(deps: AppDeps, reply: FastifyReply, name: string, value: string, maxAgeSeconds: number) {
  const secure = deps.config.publicUrl.startsWith('https:') ? '; Secure' : '';
  reply.header('set-cookie', `${name}=${encodeURIComponent(value)}; Path=${COOKIE_PATH}; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax${secure}`);
}

function sameSecret(a: string, b: string) {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The task a state names, with who asked for it; refuses unknown, used and expired states. */
export async function pendingAuthorization(deps: AppDeps, state: string | undefined) {
  if (!state) throw badRequest('invalid_oauth_state', 'The link has no state parameter.');
  const [row] = await deps.db
    .select({ task: tasks, accountName: accounts.name, requestedBy: users.email })
    .from(tasks)
    .innerJoin(accounts, eq(accounts.id, tasks.accountId))
    .leftJoin(users, and(eq(users.id, tasks.oauthRequestedBy), eq(users.accountId, tasks.accountId)))
    .where(eq(tasks.oauthStateHash, hashState(state)));
  if (!row || row.task.state !== 'active') throw badRequest('invalid_oauth_state', 'This authorization is unknown or was already used; start again from the task.');
  if (!row.task.oauthStateExpiresAt || row.task.oauthStateExpiresAt <= deps.clock.now()) {
    throw gone('authorization_expired', 'This authorization link has expired; ask for a new one with POST /v1/tasks/{id}/reconnect.');
  }
  return row;
}

/** GET …/authorize: the page that says which Coffer account the team would join. */
export async function confirmationPage(deps: AppDeps, reply: FastifyReply, state: string | undefined, dropboxOrigin: string) {
  const { task, accountName, requestedBy } = await pendingAuthorization(deps, state);
  const csrf = randomBytes(24).toString('base64url');
  setCookie(deps, reply, CSRF_COOKIE, csrf, 3600);
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Connect a Dropbox team to Coffer</title></head>
<body>
<h1>Connect a Dropbox team to Coffer</h1>
<p>You are about to give the Coffer account <strong id="account">${esc(accountName)}</strong> (<code id="account-id">${esc(task.accountId)}</code>)
read access to every member's files and every team folder of the Dropbox team you approve, for its backup task
<strong id="task">${esc(task.name)}</strong>.</p>
<p>Requested by <strong id="requested-by">${esc(requestedBy ?? 'a user no longer in the account')}</strong>.</p>
<p>Continue only if you know this account and this person. If someone sent you this link and you do not, close this page.</p>
<form method="post" action="${COOKIE_PATH}/authorize">
<input type="hidden" name="state" value="${esc(state!)}">
<input type="hidden" name="csrf" value="${esc(csrf)}">
<button type="submit">Continue to Dropbox</button>
</form>
</body></html>
`;
  return reply
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header('content-security-policy', `default-src 'none'; form-action 'self' ${dropboxOrigin}; frame-ancestors 'none'`)
    .send(html);
}

/** POST …/authorize: the Continue button. Seals the state into this browser, then on to Dropbox. */
export async function confirm(deps: AppDeps, request: FastifyRequest, reply: FastifyReply, form: { state?: string; csrf?: string }, dropboxUrl: (state: string, plan: 'business' | 'professional') => string) {
  const expected = cookies(request).get(CSRF_COOKIE);
  if (!expected || !form.csrf || !sameSecret(expected, form.csrf)) {
    throw new ApiError(403, 'oauth_confirmation_required', 'Forbidden', 'Connect a Dropbox team from the confirmation page of the task\'s authorize_url, in the same browser.');
  }
  const { task } = await pendingAuthorization(deps, form.state);
  setCookie(deps, reply, BROWSER_COOKIE, deps.keyring.sealSecret(form.state!, SEAL_CONTEXT), 3600);
  return reply.code(303).header('location', dropboxUrl(form.state!, task.plan)).header('cache-control', 'no-store').send();
}

/** At the callback: did this browser confirm this state on the page above? */
export function assertSameBrowser(deps: AppDeps, request: FastifyRequest, state: string) {
  const sealed = cookies(request).get(BROWSER_COOKIE);
  let confirmed: string | null = null;
  try {
    confirmed = sealed ? deps.keyring.openSecret(sealed, SEAL_CONTEXT) : null;
  } catch {
    confirmed = null;
  }
  if (!confirmed || !sameSecret(confirmed, state)) {
    throw new ApiError(403, 'oauth_browser_mismatch', 'Forbidden',
      'This Dropbox approval did not come from the browser that confirmed the connection on Coffer\'s page; nothing was connected. Open the task\'s authorize_url and continue from there.');
  }
}
