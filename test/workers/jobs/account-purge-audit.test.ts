// A purged account's security audit log survives the purge: the rows stay (no cascade from the
// account row), the purge appends an `account_purged` tombstone through the hash chain so the
// kept log still verifies to its head, and the log is erased only when its retention ends.
import t from 'tap';
import { startTestApp } from '../../helpers/app.ts';
import { accountPurgeJob, AUDIT_RETENTION_AFTER_PURGE_DAYS } from '../../../workers/jobs/account-purge.ts';
import { verifyAuditChain } from '../../../api/resources/audit/service.ts';

const DAY = 86_400_000;

t.test('the audit log of a purged account is kept, verifiable, until its retention ends', async (t) => {
  const api = await startTestApp(t, { start: new Date('2026-06-01T12:00:00Z') });
  const a = await api.signUp();
  const b = await api.signUp();
  for (const who of [a, b]) t.equal((await api.request('POST', '/v1/api-keys', { key: who.key, body: { name: 'ci', scopes: ['account:read'] } })).status, 201);
  const removal = await api.request('POST', '/v1/account/removal', { key: a.key, body: { approve_data_removal: true } });
  t.equal(removal.status, 202, removal.text);
  const events = async (accountId: string) =>
    api.database.sql<{ seq: number; type: string; performed_by: string | null; details: Record<string, unknown> | null }[]>`
      select seq::int, type, performed_by, details from audit_events where account_id = ${accountId} order by seq`;
  const before = await events(a.accountId);
  t.same(before.map((e) => e.type), ['api_key_created', 'account_removal_requested']);

  api.clock.advance(7 * DAY + 1);
  const job = await accountPurgeJob(api.deps);
  t.equal(job.purged.length, 1);
  const [account] = await api.database.sql`select count(*)::int as n from accounts where id = ${a.accountId}`;
  t.equal(account!.n, 0, 'the account row is gone');

  const after = await events(a.accountId);
  t.same(after.slice(0, before.length), before, 'every event written before the purge is still there, unchanged');
  t.equal(after.length, before.length + 1);
  const tombstone = after[after.length - 1]!;
  t.equal(tombstone.type, 'account_purged');
  t.equal(tombstone.performed_by, null, 'performed by Coffer, nobody signed in');
  t.match(tombstone.details, { account_id: a.accountId, audit_kept_until: '2027-06-08T12:00:00.001Z' });
  const verdict = await verifyAuditChain(api.deps, a.accountId);
  t.match(verdict, { intact: true, events_checked: after.length, first_broken_event_id: null, reason: null });
  t.equal(verdict.checkpoint!.events, after.length, 'the chain ends at the tombstone, which the head names');

  // The kept log is not readable through the API any more: the account's credentials are gone.
  t.equal((await api.request('GET', '/v1/audit', { key: a.key })).status, 401);

  api.clock.advance((AUDIT_RETENTION_AFTER_PURGE_DAYS - 1) * DAY);
  t.equal((await accountPurgeJob(api.deps)).auditLogsErased, 0, 'kept for the whole retention period');
  t.equal((await events(a.accountId)).length, after.length);

  api.clock.advance(DAY);
  t.equal((await accountPurgeJob(api.deps)).auditLogsErased, 1, 'erased once the retention is over');
  t.same(await events(a.accountId), []);
  const [head] = await api.database.sql`select count(*)::int as n from audit_heads where account_id = ${a.accountId}`;
  t.equal(head!.n, 0);
  t.same((await events(b.accountId)).map((e) => e.type), ['api_key_created'], 'a live account\'s log is never erased, however old');
  t.match(await verifyAuditChain(api.deps, b.accountId), { intact: true, events_checked: 1 });
});
