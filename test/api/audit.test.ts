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
  t.match(ok.body, { intact: true, events_checked: 7, first_broken_event_id: null, reason: null, checkpoint: { events: 7, head_event_id: events[6].id, head_hash: events[6].hash } });

  const spec = await api.request('GET', '/openapi.json');
  t.ok(spec.body.paths['/v1/audit'].get.responses['200'].content['text/csv'], 'text/csv is documented');
});

t.test('tampering is detected by /v1/audit/verify', async (t) => {
  const api = await startTestApp(t);
  const admin = await api.signUp();
  for (let i = 0; i < 5; i++) await api.request('POST', '/v1/api-keys', { key: admin.key, body: { name: `k${i}` } });
  const all = (await api.request('GET', '/v1/audit', { key: admin.key })).body.data.reverse();
  t.equal(all.length, 5);
  t.match((await api.request('GET', '/v1/audit/verify', { key: admin.key })).body, { intact: true, events_checked: 5, first_broken_event_id: null, reason: null });

  await api.database.sql`update audit_events set description = 'nothing to see here' where id = ${all[2].id}`;
  t.same((await api.request('GET', '/v1/audit/verify', { key: admin.key })).body, {
    intact: false, events_checked: 3, first_broken_event_id: all[2].id, reason: `event ${all[2].id} (position 3) does not match its hash: its content was changed`, checkpoint: null,
  }, 'an edited event');

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
  t.same((await api.request('GET', '/v1/audit/verify', { key: admin.key })).body, {
    intact: false, events_checked: 3, first_broken_event_id: all[2].id, reason: `event ${all[2].id} (position 3) does not link to the event before it`, checkpoint: null,
  }, 'a re-hashed row breaks the link after it');

  await api.database.sql`update audit_events set hash = ${row!.hash}, ip = ${row!.ip} where id = ${all[1].id}`;
  await api.database.sql`delete from audit_events where id = ${all[3].id}`;
  t.same((await api.request('GET', '/v1/audit/verify', { key: admin.key })).body, {
    intact: false, events_checked: 4, first_broken_event_id: all[4].id, reason: `event ${all[4].id} has position 5 where 4 was expected: event 4 is missing`, checkpoint: null,
  }, 'a removed event');
});

t.test('concurrent events keep one unbroken chain; accounts are isolated', async (t) => {
  const api = await startTestApp(t);
  const a = await api.signUp();
  const b = await api.signUp();
  await Promise.all(Array.from({ length: 20 }, (_, i) => api.request('POST', '/v1/api-keys', { key: i % 2 ? a.key : b.key, body: { name: `k${i}` } })));
  for (const who of [a, b]) {
    const v = await api.request('GET', '/v1/audit/verify', { key: who.key });
    t.match(v.body, { intact: true, events_checked: 10, first_broken_event_id: null, reason: null, checkpoint: { account_id: who.accountId, events: 10 } });
  }
  const aEvents = (await api.request('GET', '/v1/audit', { key: a.key })).body.data;
  t.same(aEvents.map((e: { seq: number }) => e.seq), [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
  t.equal((await api.request('GET', `/v1/audit/${aEvents[0].id}`, { key: b.key })).status, 404, 'B cannot read A\'s event');
  t.equal((await api.request('GET', `/v1/audit?performed_by=${a.userId}`, { key: b.key })).body.data.length, 0);
  t.equal((await api.request('GET', '/v1/audit/aud_00000000000000000000000000', { key: a.key })).status, 404);
});

t.test('removing the newest event, the newest events or the head record is detected', async (t) => {
  const api = await startTestApp(t);
  const admin = await api.signUp();
  for (let i = 0; i < 5; i++) await api.request('POST', '/v1/api-keys', { key: admin.key, body: { name: `k${i}` } });
  const all = (await api.request('GET', '/v1/audit', { key: admin.key })).body.data.reverse();
  const [headRow] = await api.database.sql`select * from audit_heads where account_id = ${admin.accountId}`;
  t.match(headRow, { seq: '5', event_id: all[4].id, hash: all[4].hash }, 'the head record follows every append');
  await api.database.sql`create table saved_events as select * from audit_events where account_id = ${admin.accountId}`;
  await api.database.sql`create table saved_heads as select * from audit_heads where account_id = ${admin.accountId}`;
  const verify = async () => (await api.request('GET', '/v1/audit/verify', { key: admin.key })).body;
  const restore = async () => {
    await api.database.sql`delete from audit_events where account_id = ${admin.accountId}`;
    await api.database.sql`insert into audit_events select * from saved_events`;
    await api.database.sql`insert into audit_heads select * from saved_heads on conflict (account_id) do nothing`;
    t.equal((await verify()).intact, true, 'restored');
  };

  await api.database.sql`delete from audit_events where id = ${all[4].id}`;
  t.same(await verify(), {
    intact: false, events_checked: 4, first_broken_event_id: null, checkpoint: null,
    reason: `the newest event 5 is missing (of 5): the head record says the chain ends at event ${all[4].id} (position 5), but the last stored event is at position 4`,
  }, 'the newest event removed');
  await restore();

  await api.database.sql`delete from audit_events where account_id = ${admin.accountId} and seq >= 3`;
  t.same(await verify(), {
    intact: false, events_checked: 2, first_broken_event_id: null, checkpoint: null,
    reason: `the newest events 3–5 are missing (of 5): the head record says the chain ends at event ${all[4].id} (position 5), but the last stored event is at position 2`,
  }, 'the newest three events removed');

  // The next event goes on from the head, not from the surviving rows: the gap stays visible.
  await api.request('POST', '/v1/api-keys', { key: admin.key, body: { name: 'after' } });
  const [next] = (await api.request('GET', '/v1/audit?limit=1', { key: admin.key })).body.data;
  t.match(next, { seq: 6, prev_hash: all[4].hash });
  t.same(await verify(), {
    intact: false, events_checked: 3, first_broken_event_id: next.id, checkpoint: null,
    reason: `event ${next.id} has position 6 where 3 was expected: events 3–5 are missing`,
  }, 'a later event does not paper over the truncation');
  await api.database.sql`delete from audit_heads where account_id = ${admin.accountId}`;
  await restore();

  await api.database.sql`delete from audit_heads where account_id = ${admin.accountId}`;
  t.same(await verify(), {
    intact: false, events_checked: 5, first_broken_event_id: null, checkpoint: null,
    reason: `the audit head record is missing: nothing confirms that the chain ends at event ${all[4].id} (position 5), so newer events may have been removed`,
  }, 'the head record removed');
  await restore();

  await api.database.sql`delete from audit_events where id = ${all[4].id}`;
  await api.database.sql`update audit_heads set seq = 4, event_id = ${all[3].id}, hash = 'forged' where account_id = ${admin.accountId}`;
  t.match(await verify(), { intact: false, first_broken_event_id: all[3].id, reason: /^the last event \(aud_\w+, position 4\) is not the one the head record names/ }, 'a head record that names another hash');
});

t.test('verify signs a checkpoint of the head that a customer can check offline and keep', async (t) => {
  const { verifyCheckpoint, checkpointPayload } = await import('../../api/resources/audit/checkpoint.ts');
  const api = await startTestApp(t, { start: new Date('2026-07-01T12:00:00Z') });
  const admin = await api.signUp();
  const empty = (await api.request('GET', '/v1/audit/verify', { key: admin.key })).body;
  t.match(empty, { intact: true, events_checked: 0, checkpoint: { events: 0, head_event_id: null, head_hash: '0'.repeat(64) } }, 'an empty log has a checkpoint too');

  for (let i = 0; i < 3; i++) await api.request('POST', '/v1/api-keys', { key: admin.key, body: { name: `k${i}` } });
  const newest = (await api.request('GET', '/v1/audit?limit=1', { key: admin.key })).body.data[0];
  const { checkpoint } = (await api.request('GET', '/v1/audit/verify', { key: admin.key })).body;
  t.match(checkpoint, {
    account_id: admin.accountId, events: 3, head_event_id: newest.id, head_hash: newest.hash, signed_at: '2026-07-01T12:00:00.000Z',
    algorithm: 'Ed25519', key_id: 'master-v1', public_key: /^[A-Za-z0-9+/]+=*$/, signature: /^[A-Za-z0-9+/]+=*$/,
  });
  t.equal(checkpoint.payload, `coffer-audit-checkpoint/v1\n${admin.accountId}\n3\n${newest.id}\n${newest.hash}\n2026-07-01T12:00:00.000Z`);
  t.equal(checkpoint.payload, checkpointPayload(admin.accountId, { events: 3, headEventId: newest.id, headHash: newest.hash }, checkpoint.signed_at));
  t.equal(verifyCheckpoint(checkpoint), true, 'the signature checks with the public key alone');
  t.equal(verifyCheckpoint({ ...checkpoint, payload: checkpoint.payload.replace('\n3\n', '\n2\n') }), false, 'a checkpoint claiming a shorter chain does not');
  const again = (await api.request('GET', '/v1/audit/verify', { key: admin.key })).body.checkpoint;
  t.equal(again.public_key, checkpoint.public_key, 'one signing key per master key');
});

t.test('the summary report carries the signed checkpoint, or says the log is broken', async (t) => {
  const { verifyCheckpoint } = await import('../../api/resources/audit/checkpoint.ts');
  const { parseMime } = await import('../helpers/mime.ts');
  const smtp = await startSmtpServer(t);
  const api = await startTestApp(t, { config: { smtpUrl: smtp.url }, start: new Date('2026-03-11T08:00:00Z') });
  const admin = await api.signUp();
  await api.request('POST', '/v1/notifications/recipients', { key: admin.key, body: { email: 'ciso@acme.example', display_name: 'Ciso', types: ['summary_report'] } });
  await api.request('POST', '/v1/api-keys', { key: admin.key, body: { name: 'k' } });
  const newest = (await api.request('GET', '/v1/audit?limit=1', { key: admin.key })).body.data[0];

  t.match((await api.request('POST', '/v1/notifications/summary-report', { key: admin.key })).body, { sent: true });
  const text = parseMime(smtp.last('ciso@acme.example').raw).text!;
  t.equal(newest.seq, 2, 'the recipient added, then the key created');
  t.match(text, /Security audit log: intact, 2 events\. Keep this signed checkpoint: a later log that does not contain event aud_\w+ with this hash at position 2 was tampered with/);
  const kept = JSON.parse(/^Audit checkpoint: (\{.*\})$/m.exec(text)![1]!);
  t.match(kept, { account_id: admin.accountId, events: newest.seq, head_event_id: newest.id, head_hash: newest.hash });
  t.equal(verifyCheckpoint(kept), true);

  await api.database.sql`delete from audit_events where id = ${newest.id}`;
  await api.request('POST', '/v1/notifications/summary-report', { key: admin.key });
  const broken = parseMime(smtp.last('ciso@acme.example').raw).text!;
  t.match(broken, /Security audit log: NOT intact \(the newest event \d+ is missing/);
  t.notMatch(broken, /Audit checkpoint:/);
});
