// Removing the account (seed 5.2.2): approval, the read-only 7-day grace period, undo, purge.
import t from 'tap';
import { startTestApp } from '../helpers/app.ts';
import { startSmtpServer } from '../helpers/smtp.ts';
import { PASSWORD, signIn } from '../helpers/security.ts';
import { rowsOf } from '../helpers/account-rows.ts';
import { accountPurgeJob } from '../../workers/jobs/account-purge.ts';

const DAY = 86_400_000;

t.test('remove the account: approval, read-only grace period, undo, then purge', async (t) => {
  const smtp = await startSmtpServer(t);
  const api = await startTestApp(t, { config: { smtpUrl: smtp.url }, start: new Date('2026-06-01T12:00:00Z') });
  const a = await api.signUp();
  const b = await api.signUp();
  const email = a.body.user.email as string;
  const req = (method: string, path: string, body?: unknown, key = a.key) => api.request(method, path, { key, body });

  const unapproved = await req('POST', '/v1/account/removal', { approve_data_removal: false });
  t.equal(unapproved.status, 400);
  t.equal(unapproved.body.code, 'approval_required');
  t.same(unapproved.body.errors, [{ pointer: '/body/approve_data_removal', detail: 'must be true to remove the account' }]);
  t.equal((await req('POST', '/v1/account/removal', {})).status, 400, 'the field is required');
  t.equal((await req('DELETE', '/v1/account/removal')).body.code, 'account_not_pending_deletion');

  const removed = await req('POST', '/v1/account/removal', { approve_data_removal: true });
  t.equal(removed.status, 202, removed.text);
  t.match(removed.body, { id: a.accountId, state: 'pending_deletion', purge_time: '2026-06-08T12:00:00.000Z' });
  t.match(smtp.last(email).text, /2026-06-08T12:00:00.000Z/);

  // Read-only: reads work, sign-in works, every other write is refused with one code.
  t.equal((await req('GET', '/v1/account')).body.state, 'pending_deletion');
  t.equal((await req('GET', '/v1/me')).status, 200);
  const writes: [string, string, unknown][] = [
    ['PATCH', '/v1/account', { name: 'Renamed' }],
    ['POST', '/v1/api-keys', { name: 'another' }],
    ['POST', '/v1/account/removal', { approve_data_removal: true }],
    ['POST', '/v1/account/email-change', { email: 'x@example.test' }],
    ['PUT', '/v1/security/saml', { enabled: false }],
  ];
  for (const [method, path, body] of writes) {
    const res = await req(method, path, body);
    t.equal(res.status, 409, `${method} ${path}`);
    t.equal(res.body.code, 'account_pending_deletion', `${method} ${path}`);
  }
  const session = await signIn(api, email, PASSWORD);
  t.equal(session.status, 201, 'sign-in still possible');
  t.equal((await req('PATCH', '/v1/account', { name: 'x' }, session.body.token)).body.code, 'account_pending_deletion', 'sessions are read-only too');
  t.equal((await req('DELETE', '/v1/sessions/current', undefined, session.body.token)).status, 204, 'signing out is allowed');
  // Other accounts are not affected.
  t.equal((await req('PATCH', '/v1/account', { name: 'B renamed' }, b.key)).status, 200);
  t.equal((await req('DELETE', '/v1/account/removal', undefined, b.key)).body.code, 'account_not_pending_deletion', 'B cannot undo A\'s removal');

  // Undo within the grace period: back to the previous state, writable again.
  api.clock.advance(6 * DAY);
  t.same((await accountPurgeJob(api.deps)).purged, [], 'nothing is purged during the grace period');
  const undone = await req('DELETE', '/v1/account/removal');
  t.equal(undone.status, 200, undone.text);
  t.match(undone.body, { state: 'trial', purge_time: null });
  t.equal((await req('PATCH', '/v1/account', { name: 'Renamed' })).status, 200);

  // Remove again and let the grace period run out: undo is refused, the purge erases everything.
  const again = await req('POST', '/v1/account/removal', { approve_data_removal: true });
  t.equal(again.status, 202);
  api.clock.advance(7 * DAY);
  const tooLate = await req('DELETE', '/v1/account/removal');
  t.equal(tooLate.status, 410);
  t.equal(tooLate.body.code, 'grace_period_over');

  const beforeRows = await rowsOf(api, a.accountId);
  t.ok(beforeRows.users && beforeRows.api_keys && beforeRows.audit_events && beforeRows.sessions, JSON.stringify(beforeRows));
  const job = await accountPurgeJob(api.deps);
  t.equal(job.purged.length, 1);
  t.equal(job.purged[0]!.accountId, a.accountId);
  const { audit_events: kept, audit_heads: head, ...left } = await rowsOf(api, a.accountId);
  t.same(left, {}, 'no row of the account is left in any table but its audit log');
  t.equal(kept, beforeRows.audit_events! + 1, 'the audit log is kept, ended by the account_purged tombstone');
  t.equal(head, 1);
  const gone = await req('GET', '/v1/account');
  t.equal(gone.status, 401, 'its keys no longer work');
  const signInAfter = await signIn(api, email, PASSWORD);
  t.equal(signInAfter.status, 401);
  t.equal((await req('GET', '/v1/account', undefined, b.key)).body.name, 'B renamed', 'B is untouched');
  t.ok((await rowsOf(api, b.accountId)).users);
  t.same((await accountPurgeJob(api.deps)).purged, [], 'a second run has nothing to do');
});

t.test('the account-purge queue is scheduled by the workers', async (t) => {
  const api = await startTestApp(t, { workers: true });
  const schedules = await api.deps.boss!.getSchedules();
  const purge = schedules.find((s: { name: string }) => s.name === 'account-purge');
  t.ok(purge, 'scheduled');
  t.equal(purge!.cron, '31 * * * *');
});


t.test('routes that declare it stay writable during the grace period (billing\'s rescue)', async (t) => {
  const api = await startTestApp(t);
  const a = await api.signUp();
  const now = api.clock.now();
  const purgeAt = new Date(now.getTime() + 7 * DAY);
  // What billing leaves when a suspended account's data is scheduled for deletion: no requesting user.
  await api.database.sql`update accounts set state = 'pending_deletion', purge_at = ${purgeAt.toISOString()} where id = ${a.accountId}`;
  await api.database.sql`insert into account_removals (account_id, previous_state, requested_by_user_id, requested_at, purge_at) values (${a.accountId}, 'suspended', null, ${now.toISOString()}, ${purgeAt.toISOString()})`;
  const patch = await api.request('PATCH', '/v1/account', { key: a.key, body: { name: 'x' } });
  t.equal(patch.body.code, 'account_pending_deletion', 'other writes stay refused');
  const billing = await api.request('PUT', '/v1/billing/details', { key: a.key, body: {} });
  t.not(billing.body?.code, 'account_pending_deletion', `a route with allowWhilePendingDeletion is not refused here (${billing.status} ${billing.body?.code})`);
  const undone = await api.request('DELETE', '/v1/account/removal', { key: a.key });
  t.equal(undone.status, 200);
  t.equal(undone.body.state, 'suspended', 'back to the state before');
});
