import t from 'tap';
import { startTestApp } from '../helpers/app.ts';
import { startSmtpServer } from '../helpers/smtp.ts';
import { inviteAndConfirm, signIn } from '../helpers/security.ts';
import { audit } from '../../api/resources/audit/service.ts';

t.test('events are chained; filters, pagination and CSV on the same endpoint', async (t) => {
  const smtp = await startSmtpServer(t);
  const api = await startTestApp(t, { config: { smtpUrl: smtp.url }, start: new Date('2026-07-01T00:00:00Z') });
  const admin = await api.signUp();
  const adminEmail = admin.body.user.email;
  const user = await inviteAndConfirm(api, smtp, admin.key, { permissions: ['activity:read'] });
  api.clock.advance(3600_000);
  await signIn(api, user.email);
  await signIn(api, user.email, 'wrong password!!');
  api.clock.advance(3600_000);
  const key = await api.request('POST', '/v1/api-keys', { key: admin.key, body: { name: 'ci' } });
  await api.request('DELETE', `/v1/api-keys/${key.body.id}`, { key: admin.key });
  await audit(api.deps, admin.accountId, {
    type: 'backup_deleted', service: 'dropbox', task: 'Dropbox team backup', description: 'The backup for the member kristen@example.test has been marked for deletion',
  });

  const all = await api.request('GET', '/v1/audit?limit=100', { key: admin.key });
  t.equal(all.status, 200);
  t.same(all.body.data.map((e: { type: string }) => e.type), [
    'backup_deleted', 'api_key_revoked', 'api_key_created', 'sign_in_failed', 'sign_in', 'user_confirmed', 'user_invited',
  ]);
  const events = [...all.body.data].reverse();
  t.equal(events[0].prev_hash, '0'.repeat(64));
  for (let i = 1; i < events.length; i++) {
    t.equal(events[i].prev_hash, events[i - 1].hash, `event ${i} links to ${i - 1}`);
    t.equal(events[i].seq, i + 1);
  }
  t.match(events[1], { type: 'user_confirmed', performed_by: user.email, ip: '127.0.0.1', status: 'completed' });
  t.match(events[3], { type: 'sign_in_failed', status: 'failed', performed_by: user.email });
  t.match(events[4], { type: 'api_key_created', performed_by: adminEmail, performed_by_user_id: admin.userId });
  t.match(events[5].description, /^API key "ci" \(cfk_.{8}…\) revoked$/);

  const one = await api.request('GET', `/v1/audit/${events[2].id}`, { key: admin.key });
  t.same(one.body, events[2]);

  const byType = await api.request('GET', '/v1/audit?type=sign_in', { key: admin.key });
  t.same(byType.body.data.map((e: { id: string }) => e.id), [events[2].id]);
  const byEmail = await api.request('GET', `/v1/audit?performed_by=${encodeURIComponent(user.email.toUpperCase())}`, { key: admin.key });
  t.equal(byEmail.body.data.length, 3);
  const byId = await api.request('GET', `/v1/audit?performed_by=${admin.userId}`, { key: admin.key });
  t.same(byId.body.data.map((e: { type: string }) => e.type), ['api_key_revoked', 'api_key_created', 'user_invited']);
  const window = await api.request('GET', '/v1/audit?from=2026-07-01T00:30:00Z&to=2026-07-01T01:30:00Z', { key: admin.key });
  t.same(window.body.data.map((e: { type: string }) => e.type), ['sign_in_failed', 'sign_in']);
  const backwards = await api.request('GET', '/v1/audit?from=2026-07-02T00:00:00Z&to=2026-07-01T00:00:00Z', { key: admin.key });
  t.equal(backwards.status, 400);

  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const page: Awaited<ReturnType<typeof api.request>> = await api.request('GET', `/v1/audit?limit=3${cursor ? `&cursor=${cursor}` : ''}`, { key: admin.key });
    seen.push(...page.body.data.map((e: { id: string }) => e.id));
    cursor = page.body.next_cursor;
  } while (cursor);
  t.same(seen, all.body.data.map((e: { id: string }) => e.id), 'pages walk every event once');

  const csv = await api.request('GET', '/v1/audit?type=sign_in_failed', { key: admin.key, headers: { accept: 'text/csv' } });
  t.equal(csv.status, 200);
  t.equal(csv.headers.get('content-type'), 'text/csv; charset=utf-8');
  t.match(csv.headers.get('content-disposition'), /attachment; filename="security-audit\.csv"/);
  const lines = csv.text.trim().split('\n');
  t.equal(lines[0], 'date,type,service,status,task,performed_by,ip,description,id,hash');
  t.equal(lines.length, 2);
  t.match(lines[1], new RegExp(`^2026-07-01T01:00:00.000Z,sign_in_failed,,failed,${user.email.replace(/[.+]/g, '\\$&')},`));
  const allCsv = await api.request('GET', '/v1/audit?limit=1', { key: admin.key, headers: { accept: 'text/csv, application/json;q=0.5' } });
  t.equal(allCsv.text.trim().split('\n').length, 8, 'CSV exports every matching event, not one page');
  t.equal(allCsv.headers.get('etag'), null);

  const ok = await api.request('GET', '/v1/audit/verify', { key: admin.key });
  t.same(ok.body, { intact: true, events_checked: 7, first_broken_event_id: null });

  const spec = await api.request('GET', '/openapi.json');
  t.ok(spec.body.paths['/v1/audit'].get.responses['200'].content['text/csv'], 'text/csv is documented');
});

t.test('tampering is detected by /v1/audit/verify', async (t) => {
  const api = await startTestApp(t);
  const admin = await api.signUp();
  for (let i = 0; i < 5; i++) await api.request('POST', '/v1/api-keys', { key: admin.key, body: { name: `k${i}` } });
  const all = (await api.request('GET', '/v1/audit', { key: admin.key })).body.data.reverse();
  t.equal(all.length, 5);
  t.same((await api.request('GET', '/v1/audit/verify', { key: admin.key })).body, { intact: true, events_checked: 5, first_broken_event_id: null });

  await api.database.sql`update audit_events set description = 'nothing to see here' where id = ${all[2].id}`;
  t.same((await api.request('GET', '/v1/audit/verify', { key: admin.key })).body, { intact: false, events_checked: 3, first_broken_event_id: all[2].id }, 'an edited event');

  await api.database.sql`update audit_events set description = ${all[2].description} where id = ${all[2].id}`;
  t.equal((await api.request('GET', '/v1/audit/verify', { key: admin.key })).body.intact, true, 'restored');

  // Recomputing the edited row's own hash does not help: the next event still points at the old one.
  const [row] = await api.database.sql`select * from audit_events where id = ${all[1].id}`;
  await api.database.sql`update audit_events set ip = '10.9.9.9' where id = ${all[1].id}`;
  const { eventHash } = await import('../../api/resources/audit/service.ts');
  const forged = eventHash(row!.prev_hash, {
    id: row!.id, accountId: row!.account_id, seq: Number(row!.seq), occurredAt: new Date(row!.occurred_at), type: row!.type, service: row!.service, status: row!.status,
    task: row!.task, performedBy: row!.performed_by, performedByUserId: row!.performed_by_user_id, ip: '10.9.9.9', userAgent: row!.user_agent,
    description: row!.description, details: row!.details,
  });
  await api.database.sql`update audit_events set hash = ${forged} where id = ${all[1].id}`;
  t.same((await api.request('GET', '/v1/audit/verify', { key: admin.key })).body, { intact: false, events_checked: 3, first_broken_event_id: all[2].id }, 'a re-hashed row breaks the link after it');

  await api.database.sql`update audit_events set hash = ${row!.hash}, ip = ${row!.ip} where id = ${all[1].id}`;
  await api.database.sql`delete from audit_events where id = ${all[3].id}`;
  t.same((await api.request('GET', '/v1/audit/verify', { key: admin.key })).body, { intact: false, events_checked: 4, first_broken_event_id: all[4].id }, 'a removed event');
});

t.test('concurrent events keep one unbroken chain; accounts are isolated', async (t) => {
  const api = await startTestApp(t);
  const a = await api.signUp();
  const b = await api.signUp();
  await Promise.all(Array.from({ length: 20 }, (_, i) => api.request('POST', '/v1/api-keys', { key: i % 2 ? a.key : b.key, body: { name: `k${i}` } })));
  for (const who of [a, b]) {
    const v = await api.request('GET', '/v1/audit/verify', { key: who.key });
    t.same(v.body, { intact: true, events_checked: 10, first_broken_event_id: null });
  }
  const aEvents = (await api.request('GET', '/v1/audit', { key: a.key })).body.data;
  t.same(aEvents.map((e: { seq: number }) => e.seq), [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
  t.equal((await api.request('GET', `/v1/audit/${aEvents[0].id}`, { key: b.key })).status, 404, 'B cannot read A\'s event');
  t.equal((await api.request('GET', `/v1/audit?performed_by=${a.userId}`, { key: b.key })).body.data.length, 0);
  t.equal((await api.request('GET', '/v1/audit/aud_00000000000000000000000000', { key: a.key })).status, 404);
});
