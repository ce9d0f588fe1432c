// GET /v1/partner/health over customers with known states, each backed up for real from the
// Dropbox emulator on the test clock: a fresh one, one whose latest backup failed (emulator 500s)
// after a good one 30 hours ago, one with a disconnected task, one not backed up for 50 hours, one
// whose billing failed, one that revoked the partner, and another partner's customer.
import t from 'tap';
import { newId } from '../../db/ids.ts';
import { tasks } from '../../db/schema.ts';
import { runBackup } from '../../workers/backup/engine.ts';
import { FAST, startBackupFixture } from '../helpers/backup-fixture.ts';
import { linkCustomer, makePartner, revokeCustomer } from '../helpers/partners.ts';

const HOUR = 3_600_000;

t.test('the roll-up judges every customer by the documented rule, with totals, filters, pages and CSV', async (t) => {
  const f = await startBackupFixture(t);
  const { app, emu } = f;
  const { deps } = app;
  const start = app.clock.now();
  const at = (hours: number) => app.clock.set(new Date(start.getTime() + hours * HOUR));
  const { refreshToken } = emu.state.issueTeamTokens('coffer-local');

  const partner = await app.signUp({ name: 'MSP' });
  await makePartner(app, partner.accountId);
  await deps.sql`update tasks set state = 'deleted' where id = ${f.taskId}`;

  /** A customer of `partnerId` with a connected task over the emulated team and one member entity per email. */
  const customer = async (name: string, emails: string[], partnerId = partner.accountId) => {
    const account = name === 'Fresh' ? f.account : await app.signUp({ name });
    if (name === 'Fresh') await deps.sql`update accounts set name = 'Fresh' where id = ${f.accountId}`;
    const taskId = newId('task');
    await deps.db.insert(tasks).values({
      id: taskId, accountId: account.accountId, name: `${name} team`, plan: 'business', connectionStatus: 'connected',
      refreshToken: deps.keyring.sealSecret(refreshToken, 'dropbox-refresh-token'), dropboxTeamId: emu.state.team.id,
      dropboxTeamName: emu.state.team.name, dropboxAdminMemberId: f.admin.teamMemberId,
    });
    const entityIds: string[] = [];
    for (const email of emails) {
      const m = emu.state.addMember({ email });
      emu.state.putFile(m, '/notes.txt', `${email} notes`);
      const id = newId('ent');
      await deps.sql`insert into entities (id, account_id, task_id, kind, dropbox_id, name, email, namespace_id, dropbox_status, status)
        values (${id}, ${account.accountId}, ${taskId}, 'member', ${m.teamMemberId}, ${email}, ${email}, ${m.homeNsId}, 'active', 'scheduled')`;
      entityIds.push(id);
    }
    await linkCustomer(app, partnerId, account.accountId);
    return { accountId: account.accountId, taskId, entityIds, key: account.key };
  };
  const backup = async (c: { accountId: string }, entityId: string) => runBackup(deps, { accountId: c.accountId, entityId, reason: 'manual' }, FAST);

  const fresh = await customer('Fresh', ['fresh@coffer-emu.test']);
  const failing = await customer('Failing', ['ok@coffer-emu.test', 'broken@coffer-emu.test']);
  const disconnected = await customer('Disconnected', ['dis@coffer-emu.test']);
  const stale = await customer('Stale', ['stale@coffer-emu.test']);
  const unpaid = await customer('Unpaid', ['unpaid@coffer-emu.test']);
  const revoked = await customer('Revoked', ['gone@coffer-emu.test']);
  const rival = await app.signUp({ name: 'Rival MSP' });
  await makePartner(app, rival.accountId);
  const rivals = await customer('Rival customer', ['rival@coffer-emu.test'], rival.accountId);
  // A discovered member nobody activated is not protected: it never makes a customer unhealthy.
  await deps.sql`update entities set status = 'not_active' where id = ${(await customer('Idle', ['idle@coffer-emu.test'])).entityIds[0]!}`;

  // Hour 0: the stale customer's last backup. Hour 20: the failing customer's last good one.
  t.equal((await backup(stale, stale.entityIds[0]!)).outcome, 'succeeded');
  at(20);
  t.equal((await backup(failing, failing.entityIds[1]!)).outcome, 'succeeded');
  // Hour 50: everyone else is backed up; the broken member's backup fails (Dropbox answers 500).
  at(50);
  for (const c of [fresh, disconnected, unpaid, revoked, rivals]) t.equal((await backup(c, c.entityIds[0]!)).outcome, 'succeeded');
  t.equal((await backup(failing, failing.entityIds[0]!)).outcome, 'succeeded');
  emu.faults.add({ kind: '500', times: 1000 });
  await t.rejects(backup(failing, failing.entityIds[1]!), /HTTP 500/, 'a 500 is transient: the run waits for the job\'s retry');
  // The job's retries, exhausted: the next attempt gives up and fails the run.
  await deps.sql`update backup_runs set resumes = 20 where entity_id = ${failing.entityIds[1]!} and state = 'running'`;
  const failed = await backup(failing, failing.entityIds[1]!);
  emu.faults.clear();
  t.equal(failed.outcome, 'failed', 'the emulator fails the broken member\'s backup');
  await deps.sql`update tasks set connection_status = 'disconnected' where id = ${disconnected.taskId}`;
  await deps.sql`update accounts set state = 'past_due' where id = ${unpaid.accountId}`;
  await revokeCustomer(app, revoked.accountId);
  await deps.sql`insert into activity_events (id, account_id, type, status, task_id, entity_id, item, description, occurred_at)
    values (${newId('evt')}, ${failing.accountId}, 'smart_alert', 'succeeded', ${failing.taskId}, ${failing.entityIds[1]!}, 'broken@coffer-emu.test',
      'mass deletion: 400 of 500 items', ${app.clock.now().toISOString()})`;

  const res = await app.request('GET', '/v1/partner/health?limit=100', { key: partner.key });
  t.equal(res.status, 200);
  const byName = Object.fromEntries(res.body.data.map((c: any) => [c.name, c]));
  t.same(Object.keys(byName).sort(), ['Disconnected', 'Failing', 'Fresh', 'Idle', 'Stale', 'Unpaid'],
    'every current customer; neither the revoked one, nor another partner\'s, nor the partner itself');
  t.same(
    Object.fromEntries(res.body.data.map((c: any) => [c.name, [c.health, c.reasons]])),
    {
      Fresh: ['healthy', []],
      Idle: ['healthy', []],
      Failing: ['warning', ['backup_overdue_24h']],
      Disconnected: ['warning', ['task_disconnected']],
      Stale: ['critical', ['backup_overdue_48h']],
      Unpaid: ['critical', ['billing_past_due']],
    },
    'each customer\'s state and why',
  );
  const bad = byName.Failing;
  t.match(bad, {
    account_id: failing.accountId, billing: 'partner', account_state: 'trial', failing_entities: 1, smart_alerts_last_7_days: 1, disconnected_tasks: 0,
    entities: { total: 2, protected: 2, by_status: { success: 1, failed: 1, not_active: 0 } },
    last_backup_at: new Date(start.getTime() + 50 * HOUR).toISOString(),
    stalest_backup_at: new Date(start.getTime() + 20 * HOUR).toISOString(),
  });
  t.equal(bad.tasks.length, 1);
  const overview = await app.request('GET', `/v1/tasks/${failing.taskId}/overview`, { key: failing.key });
  t.same(bad.tasks[0], overview.body, 'each task exactly as the customer\'s own task overview shows it');
  t.equal(bad.tasks[0].failing_entities.data[0].id, failing.entityIds[1]);
  t.match(bad.tasks[0].failing_entities.data[0].last_error, /500/, 'why the latest backup failed');
  t.equal(bad.tasks[0].smart_alerts.recent[0].description, 'mass deletion: 400 of 500 items');
  t.equal(byName.Disconnected.tasks[0].connection_status, 'disconnected');
  t.same(byName.Idle.entities, { total: 1, protected: 0, by_status: { ...byName.Idle.entities.by_status, not_active: 1 } });
  t.equal(byName.Idle.stalest_backup_at, null);

  t.match(res.body.totals, {
    customers: 6, by_health: { healthy: 2, warning: 2, critical: 2 }, tasks: 6, disconnected_tasks: 1, failing_entities: 1, smart_alerts_last_7_days: 1,
    entities: { total: 7, protected: 6, by_status: { success: 5, failed: 1, not_active: 1 } },
  });
  t.equal(res.body.totals.protected_bytes, res.body.data.reduce((s: number, c: any) => s + c.protected_bytes, 0));
  t.ok(res.body.totals.protected_bytes > 0);
  t.equal(res.body.next_cursor, null);

  // Filters: the totals follow them.
  const critical = await app.request('GET', '/v1/partner/health?health=critical', { key: partner.key });
  t.same(critical.body.data.map((c: any) => c.name).sort(), ['Stale', 'Unpaid']);
  t.same(critical.body.totals.by_health, { healthy: 0, warning: 0, critical: 2 });
  const named = await app.request('GET', '/v1/partner/health?name=FAIL', { key: partner.key });
  t.same(named.body.data.map((c: any) => c.name), ['Failing'], 'name: a case-insensitive substring');
  t.equal((await app.request('GET', '/v1/partner/health?name=%25', { key: partner.key })).body.data.length, 0, '% is a character, not a wildcard');
  t.equal((await app.request('GET', '/v1/partner/health?region=ap-southeast-2', { key: partner.key })).body.totals.customers, 0);

  // Pages: every customer once, in account id order; totals on every page.
  const seen: string[] = [];
  let cursor: string | null = '';
  while (cursor !== null) {
    const page: any = await app.request('GET', `/v1/partner/health?limit=4${cursor ? `&cursor=${cursor}` : ''}`, { key: partner.key });
    t.equal(page.body.totals.customers, 6);
    seen.push(...page.body.data.map((c: any) => c.account_id));
    cursor = page.body.next_cursor;
  }
  t.same(seen, res.body.data.map((c: any) => c.account_id).sort(), 'two pages, each customer once');

  // CSV: every matching customer.
  const csv = await app.request('GET', '/v1/partner/health?health=warning', { key: partner.key, headers: { accept: 'text/csv' } });
  t.equal(csv.status, 200);
  t.match(csv.headers.get('content-type'), /^text\/csv/);
  const lines = csv.text.trim().split('\n');
  t.equal(lines[0], 'account_id,name,region,health,reasons,account_state,billing,tasks,disconnected_tasks,entities,protected_entities,failing_entities,smart_alerts_last_7_days,protected_bytes,last_backup_at,stalest_backup_at');
  t.equal(lines.length, 3);
  t.match(lines.find((l) => l.includes('Failing')), `${failing.accountId},Failing,`);

  // The rival partner sees only its own customer.
  const other = await app.request('GET', '/v1/partner/health', { key: rival.key });
  t.same(other.body.data.map((c: any) => c.account_id), [rivals.accountId]);
});

t.test('a standard account, a customer, and a key without customers:read are refused', async (t) => {
  const f = await startBackupFixture(t);
  const { app } = f;
  const standard = await app.request('GET', '/v1/partner/health', { key: f.account.key });
  t.equal(standard.status, 403);
  t.match(standard.body, { code: 'not_a_partner', status: 403 });
  t.match(standard.headers.get('content-type'), /application\/problem\+json/);
  const csv = await app.request('GET', '/v1/partner/health', { key: f.account.key, headers: { accept: 'text/csv' } });
  t.equal(csv.body.code, 'not_a_partner', 'the CSV form too');

  const partner = await app.signUp({ name: 'MSP' });
  await makePartner(app, partner.accountId);
  await linkCustomer(app, partner.accountId, f.accountId);
  await f.memberEntity(f.emu.state.addMember({ email: 'never@coffer-emu.test' }));
  app.clock.set(new Date(Date.now() + 49 * 3_600_000));
  t.equal((await app.request('GET', '/v1/partner/health', { key: f.account.key })).body.code, 'not_a_partner', 'a customer is no partner');
  const narrow = await app.request('POST', '/v1/api-keys', { key: partner.key, body: { name: 'viewer', scopes: ['backups:read'] } });
  t.equal((await app.request('GET', '/v1/partner/health', { key: narrow.body.secret })).status, 403, 'customers:read is needed');
  const reader = await app.request('POST', '/v1/api-keys', { key: partner.key, body: { name: 'reader', scopes: ['customers:read'] } });
  const ok = await app.request('GET', '/v1/partner/health', { key: reader.body.secret });
  t.equal(ok.status, 200);
  t.equal(ok.body.data[0].account_id, f.accountId);
  t.equal(ok.body.data[0].health, 'critical', 'a protected entity never backed up counts from its discovery');

  const badCursor = await app.request('GET', '/v1/partner/health?cursor=nope', { key: partner.key });
  t.match(badCursor.body, { status: 400, code: 'invalid_cursor' });
  t.equal((await app.request('GET', '/v1/partner/health?health=sick', { key: partner.key })).status, 400);
});
