import t from 'tap';
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { startSmtpServer, type SmtpTestServer } from '../helpers/smtp.ts';
import { parseMime } from '../helpers/mime.ts';
import { inviteAndConfirm } from '../helpers/security.ts';
import { newId } from '../../db/ids.ts';
import { entities, jobs, tasks } from '../../db/schema.ts';
import { ARCHIVE_KEY_CONTEXT } from '../../workers/recovery/export.ts';
import { notifyJobFinished, notifyTaskDisconnected } from '../../api/resources/notifications/triggers.ts';
import { textToHtml } from '../../api/mail/html.ts';

const NOW = new Date('2026-03-11T08:00:00Z');

async function setUp(t: Parameters<typeof startTestApp>[0]) {
  const smtp = await startSmtpServer(t);
  const api = await startTestApp(t, { start: NOW, config: { smtpUrl: smtp.url, publicUrl: 'https://coffer.example.test' } });
  const admin = await api.signUp({ email: `admin-${randomBytes(3).toString('hex')}@acme.test` });
  const taskId = newId('task');
  await api.deps.db.insert(tasks).values({ id: taskId, accountId: admin.accountId, name: 'Acme Dropbox', plan: 'business', connectionStatus: 'connected', version: 1 });
  const entityId = newId('ent');
  await api.deps.db.insert(entities).values({ id: entityId, accountId: admin.accountId, taskId, kind: 'member', dropboxId: 'dbmid:alice', name: 'Alice Archer', email: 'alice@acme.test', dropboxStatus: 'active', status: 'success' });
  await api.request('POST', '/v1/notifications/recipients', { key: admin.key, body: { email: 'it@acme.test', display_name: 'IT', types: ['recovery', 'exceptions'] } });
  return { api, smtp, admin, taskId, entityId };
}

/** A finished job row as the recovery engine leaves it (a download export has its sealed archive key). */
async function finishedJob(api: TestApp, s: { accountId: string; taskId: string; entityId: string; initiator: { id: string; email: string } }, type: 'restore' | 'export') {
  const id = newId('job');
  await api.deps.db.insert(jobs).values({
    id, accountId: s.accountId, type, state: 'succeeded', taskId: s.taskId, entityId: s.entityId, snapshotId: 'run_x', snapshotAt: new Date('2026-03-01T03:00:00Z'),
    source: { snapshotId: 'run_x' }, destination: type === 'export' ? { type: 'download' } : { mode: 'non_destructive' }, itemsTotal: 3, itemsDone: 3,
    initiatorId: s.initiator.id, initiatorEmail: s.initiator.email, createdAt: api.clock.now(), finishedAt: api.clock.now(),
    ...(type === 'export' ? { resultKey: `exports/${id}.zip`, resultSize: 1234, resultSecret: api.deps.keyring.sealSecret(randomBytes(32).toString('base64'), ARCHIVE_KEY_CONTEXT), expiresAt: new Date(NOW.getTime() + 72 * 3600_000) } : {}),
  });
  return id;
}

t.test('the initiator of an export gets the completion email with the download link and its expiry; recipients get no link', async (t) => {
  const { api, smtp, admin, taskId, entityId } = await setUp(t);
  const me = (await api.request('GET', '/v1/me', { key: admin.key })).body;
  const jobId = await finishedJob(api, { accountId: admin.accountId, taskId, entityId, initiator: { id: admin.userId, email: me.user.email } }, 'export');
  t.match(await notifyJobFinished(api.deps, { id: jobId }), { notified: true, mails: 2 });

  const job = (await api.request('GET', `/v1/jobs/${jobId}`, { key: admin.key })).body;
  t.match(job.download, { url: /^https:\/\/coffer\.example\.test\/v1\/downloads\//, expires_at: '2026-03-14T08:00:00.000Z' });
  const mine = smtp.last(me.user.email);
  t.equal(mine.subject, 'Export completed successfully: Alice Archer');
  const parsed = parseMime(mine.raw);
  t.ok(parsed.text!.includes(`Download the export: ${job.download.url}`), 'the link is the job\'s signed download link');
  t.match(parsed.text, /works until 2026-03-14T08:00:00\.000Z \(UTC\)/);
  t.match(parsed.text, /because you started this export/);
  t.ok(parsed.html!.includes(`<a href="${job.download.url}">`), 'the HTML part links it too');

  const theirs = parseMime(smtp.last('it@acme.test').raw);
  t.match(theirs.text, /can be downloaded from Coffer \(job job_\w+, GET \/v1\/jobs\/job_\w+\/download\) until 2026-03-14T08:00:00\.000Z/);
  t.notOk(theirs.text!.includes('/v1/downloads/'), 'a notification recipient never gets the signed link');
  t.match(theirs.text, /Requested by /);
  t.match(await notifyJobFinished(api.deps, { id: jobId }), { notified: false }, 'once');
  t.equal(smtp.to(me.user.email).length, 1);
});

t.test('a restore\'s initiator gets its summary; an initiator who may no longer export gets no link; a deactivated one no mail', async (t) => {
  const { api, smtp, admin, taskId, entityId } = await setUp(t);
  const operator = await inviteAndConfirm(api, smtp as SmtpTestServer, admin.key, { permissions: ['recovery:restore'] });
  const restore = await finishedJob(api, { accountId: admin.accountId, taskId, entityId, initiator: operator }, 'restore');
  t.match(await notifyJobFinished(api.deps, { id: restore }), { mails: 2 });
  const summary = parseMime(smtp.last(operator.email).raw);
  t.match(summary.text, /The restore of Alice Archer \(task Acme Dropbox\) from the snapshot of 2026-03-01T03:00:00\.000Z completed successfully\./);
  t.match(summary.text, /Items: 3 done, 0 failed of 3\./);

  const exported = await finishedJob(api, { accountId: admin.accountId, taskId, entityId, initiator: operator }, 'export');
  await notifyJobFinished(api.deps, { id: exported });
  const noLink = parseMime(smtp.last(operator.email).raw);
  t.equal(smtp.last(operator.email).subject, 'Export completed successfully: Alice Archer');
  t.notOk(noLink.text!.includes('/v1/downloads/'), 'without recovery:export, no signed link');

  await api.request('POST', `/v1/users/${operator.id}/deactivate`, { key: admin.key });
  const later = await finishedJob(api, { accountId: admin.accountId, taskId, entityId, initiator: operator }, 'restore');
  const before = smtp.to(operator.email).length;
  t.match(await notifyJobFinished(api.deps, { id: later }), { mails: 1 }, 'recipients only');
  t.equal(smtp.to(operator.email).length, before);
});

t.test('the task-disconnected email names the reconnect endpoint of that task', async (t) => {
  const { api, smtp, taskId } = await setUp(t);
  await api.deps.db.update(tasks).set({ connectionStatus: 'disconnected', connectionError: 'invalid_grant', version: 2 }).where(eq(tasks.id, taskId));
  t.match(await notifyTaskDisconnected(api.deps, { id: taskId }), { mails: 1 });
  const mail = parseMime(smtp.last('it@acme.test').raw);
  t.ok(mail.text!.includes(`POST /v1/tasks/${taskId}/reconnect`));
  t.notOk(mail.text!.includes('/connect,'));
});

t.test('every email has a plain-text and an HTML part: a text-only message gets an HTML part with the same words and links', async (t) => {
  const { api, smtp } = await setUp(t);
  const email = `reset-${randomBytes(3).toString('hex')}@acme.test`;
  await api.signUp({ email });
  t.equal((await api.request('POST', '/v1/password-reset', { body: { email } })).status, 202);
  const mail = parseMime(smtp.last(email).raw);
  t.ok(mail.text && mail.html, 'both parts');
  const link = /https:\/\/coffer\.example\.test\/\S+/.exec(mail.text!)![0];
  t.ok(mail.html!.includes(`<a href="${link.replace(/&/g, '&amp;')}">`), 'the link is an anchor in the HTML part');

  t.equal(textToHtml('a <b> & "c"\nnext line\n\nhttps://x.test/p?a=1&b=2.\n\n-- \nfooter'), [
    '<!doctype html><html><body style="font-family: Arial, Helvetica, sans-serif; color: #1f2933; line-height: 1.45;">',
    '<p>a &lt;b&gt; &amp; &quot;c&quot;<br>next line</p>',
    '<p><a href="https://x.test/p?a=1&amp;b=2">https://x.test/p?a=1&amp;b=2</a>.</p>',
    '<hr><p style="font-size: 12px; color: #7b8794;">footer</p>',
    '</body></html>',
  ].join('\n'));
});

t.test('an initiator who is also a recovery recipient gets one email, the one with the link', async (t) => {
  const { api, smtp, admin, taskId, entityId } = await setUp(t);
  const me = (await api.request('GET', '/v1/me', { key: admin.key })).body;
  await api.request('POST', '/v1/notifications/recipients', { key: admin.key, body: { email: me.user.email.toUpperCase(), display_name: 'Me', types: ['recovery'] } });
  const jobId = await finishedJob(api, { accountId: admin.accountId, taskId, entityId, initiator: { id: admin.userId, email: me.user.email } }, 'export');
  t.match(await notifyJobFinished(api.deps, { id: jobId }), { mails: 2 }, 'the initiator and it@');
  t.equal(smtp.to(me.user.email).length, 1, 'one email, whatever the case of the recipient address');
  t.match(parseMime(smtp.last(me.user.email).raw).text, /\/v1\/downloads\//);
  t.equal(smtp.to('it@acme.test').length, 1);
});
