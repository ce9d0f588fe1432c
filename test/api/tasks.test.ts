import t from 'tap';
import { startTestApp } from '../helpers/app.ts';
import { approveInBrowser, continueToDropbox, CookieJar, dropboxConfig, formFields, startDropbox, APP_KEY, PUBLIC_URL } from '../helpers/dropbox.ts';
import type { TestApp } from '../helpers/app.ts';

/** Approves in one browser and follows Dropbox's redirect back in it: answers the callback. */
async function connect(api: TestApp, authorizeUrl: string) {
  const approval = await approveInBrowser(api, authorizeUrl);
  return api.request('GET', approval.path, { headers: approval.headers });
}
import { discoveryJob } from '../../workers/jobs/discovery.ts';
import { purgeJob } from '../../workers/jobs/purge.ts';

t.test('OAuth round trip: create → authorize → callback → connected → discovery', async (t) => {
  const emu = await startDropbox(t);
  const admin = emu.state.addMember({ email: 'admin@team.test', givenName: 'Ada', surname: 'Admin', admin: true });
  emu.state.addMember({ email: 'bob@team.test', givenName: 'Bob', surname: 'Smith' });
  emu.state.addTeamFolder('Finance');
  const api = await startTestApp(t, { config: dropboxConfig(emu) });
  const { key, accountId } = await api.signUp();

  const created = await api.request('POST', '/v1/tasks', { key, body: { name: 'Full Dropbox Backup', plan: 'business', backup_hour: 5 } });
  t.equal(created.status, 201);
  t.equal(created.body.connection_status, 'pending');
  t.equal(created.body.backup_hour, 5);
  t.equal(created.body.frequency, 'daily');
  t.same(created.body.retention, { unit: 'unlimited' });
  t.equal(created.body.region, 'eu-west-1');
  const confirmation = new URL(created.body.authorize_url);
  t.equal(confirmation.origin + confirmation.pathname, `${PUBLIC_URL}/v1/oauth/dropbox/authorize`, 'Coffer\'s confirmation page first');
  const state = confirmation.searchParams.get('state')!;
  const stored = await api.database.sql`select oauth_state_hash from tasks`;
  t.not(stored[0]!.oauth_state_hash, state, 'the state is stored only as a hash');

  const callback = await approveInBrowser(api, created.body.authorize_url);
  const authorize = new URL(callback.dropboxUrl);
  t.equal(authorize.origin + authorize.pathname, `${emu.url}/oauth2/authorize`);
  t.equal(authorize.searchParams.get('client_id'), APP_KEY);
  t.equal(authorize.searchParams.get('token_access_type'), 'offline');
  t.equal(authorize.searchParams.get('redirect_uri'), `${PUBLIC_URL}/v1/oauth/dropbox/callback`);
  t.equal(authorize.searchParams.get('state'), state);
  const connected = await api.request('GET', callback.path, { headers: callback.headers });
  t.equal(connected.status, 200);
  t.equal(connected.body.connection_status, 'connected');
  t.match(connected.body.dropbox_team, { id: String });
  t.equal(connected.body.authorize_url, null);
  const row = await api.database.sql`select refresh_token, dropbox_admin_member_id from tasks`;
  t.match(row[0]!.refresh_token, /^s1\./, 'the refresh token is sealed at rest');
  t.equal(row[0]!.dropbox_admin_member_id, admin.teamMemberId);

  const replay = await api.request('GET', callback.path, { headers: callback.headers });
  t.equal(replay.status, 400, 'a callback works once');
  t.equal(replay.body.code, 'invalid_oauth_state');

  const result = await discoveryJob(api.deps, { accountId, taskId: created.body.id });
  t.match(result, { discovered: 3, created: 3, activated: 3, archived: 0 });
  const entities = await api.request('GET', `/v1/entities?task_id=${created.body.id}`, { key });
  t.same(entities.body.data.map((e: { name: string; kind: string; status: string }) => [e.name, e.kind, e.status]).sort(), [
    ['Ada Admin', 'member', 'scheduled'],
    ['Bob Smith', 'member', 'scheduled'],
    ['Finance', 'team_folder', 'scheduled'],
  ]);
  const bob = entities.body.data.find((e: { email: string }) => e.email === 'bob@team.test');
  t.equal(bob.dropbox.namespace_id, emu.state.memberNamespace('bob@team.test').id);
  t.type(bob.next_backup_at, 'string');
  t.equal(new Date(bob.next_backup_at).getUTCHours(), 5, 'scheduled at the task\'s backup hour');

  const activity = await api.database.sql`select type, description, counts from activity_events`;
  t.equal(activity.length, 1);
  t.equal(activity[0]!.type, 'discovery');
  t.equal(activity[0]!.counts.created, 3);
});

t.test('OAuth failures: expired state, denied, unknown state, unconfigured app', async (t) => {
  const emu = await startDropbox(t);
  emu.state.addMember({ email: 'admin@team.test', admin: true });
  const api = await startTestApp(t, { config: dropboxConfig(emu) });
  const { key } = await api.signUp();
  const created = await api.request('POST', '/v1/tasks', { key, body: { name: 'T' } });
  const callback = await approveInBrowser(api, created.body.authorize_url);
  api.clock.advance(61 * 60_000);
  const expired = await api.request('GET', callback.path, { headers: callback.headers });
  t.equal(expired.status, 410);
  t.equal(expired.body.code, 'authorization_expired');

  const reconnect = await api.request('POST', `/v1/tasks/${created.body.id}/reconnect`, { key });
  const state = new URL(reconnect.body.authorize_url).searchParams.get('state');
  const denied = await api.request('GET', `/v1/oauth/dropbox/callback?state=${state}&error=access_denied&error_description=user+said+no`);
  t.equal(denied.status, 400);
  t.equal(denied.body.code, 'authorization_denied');

  const unknown = await api.request('GET', '/v1/oauth/dropbox/callback?state=forged&code=abc');
  t.equal(unknown.status, 400);
  t.equal(unknown.body.code, 'invalid_oauth_state');

  const unconfigured = await startTestApp(t);
  const other = await unconfigured.signUp();
  const none = await unconfigured.request('POST', '/v1/tasks', { key: other.key, body: { name: 'x' } });
  t.equal(none.status, 503);
  t.equal(none.body.code, 'dropbox_not_configured');
});

t.test('a task created with a refresh token is connected at once; a bad token is a field error', async (t) => {
  const emu = await startDropbox(t);
  emu.state.addMember({ email: 'admin@team.test', admin: true });
  const api = await startTestApp(t, { config: dropboxConfig(emu) });
  const { key } = await api.signUp();
  const { refreshToken } = emu.state.issueTeamTokens(APP_KEY);
  const ok = await api.request('POST', '/v1/tasks', { key, body: { name: 'Automated', refresh_token: refreshToken, frequency: 'every_6_hours' } });
  t.equal(ok.status, 201);
  t.equal(ok.body.connection_status, 'connected');
  t.equal(ok.body.authorize_url, null);
  t.equal(ok.body.frequency, 'every_6_hours');

  const bad = await api.request('POST', '/v1/tasks', { key, body: { name: 'Broken', refresh_token: 'not-a-token' } });
  t.equal(bad.status, 400);
  t.same(bad.body.errors.map((e: { pointer: string }) => e.pointer), ['/body/refresh_token']);
});

t.test('a revoked refresh token disconnects the task; reconnect restores it', async (t) => {
  const emu = await startDropbox(t);
  emu.state.addMember({ email: 'admin@team.test', admin: true });
  const api = await startTestApp(t, { config: dropboxConfig(emu) });
  const { key, accountId } = await api.signUp();
  const created = await api.request('POST', '/v1/tasks', { key, body: { name: 'T' } });
  await connect(api, created.body.authorize_url);

  emu.state.revokeRefreshTokens({ accessTokensToo: true });
  const result = await discoveryJob(api.deps, { accountId, taskId: created.body.id });
  t.same(result, { skipped: 'task disconnected' });
  const task = await api.request('GET', `/v1/tasks/${created.body.id}`, { key });
  t.equal(task.body.connection_status, 'disconnected');
  t.match(task.body.connection_error, /reconnect/);

  const notConnected = await api.request('POST', `/v1/tasks/${created.body.id}/discover`, { key });
  t.equal(notConnected.status, 409);
  t.equal(notConnected.body.code, 'task_not_connected');

  const reconnect = await api.request('POST', `/v1/tasks/${created.body.id}/reconnect`, { key });
  t.equal(reconnect.status, 200);
  t.equal(reconnect.body.connection_status, 'disconnected', 'unchanged until the callback succeeds');
  const back = await connect(api, reconnect.body.authorize_url);
  t.equal(back.body.connection_status, 'connected');
  t.equal(back.body.connection_error, null);
  t.match(await discoveryJob(api.deps, { accountId, taskId: created.body.id }), { discovered: 1 });
});

t.test('settings are validated; updates use If-Match', async (t) => {
  const emu = await startDropbox(t);
  const api = await startTestApp(t, { config: dropboxConfig(emu) });
  const { key } = await api.signUp();
  const created = await api.request('POST', '/v1/tasks', { key, body: { name: 'T' } });
  const id = created.body.id;
  const bad = await api.request('PATCH', `/v1/tasks/${id}`, {
    key,
    body: { backup_hour: 24, frequency: 'hourly', retention: { unit: 'weeks', value: 2 }, retain_archived_days: 0, region: 'us-east-1' },
  });
  t.equal(bad.status, 400);
  const pointers = bad.body.errors.map((e: { pointer: string }) => e.pointer);
  for (const p of ['/body/backup_hour', '/body/frequency', '/body/retain_archived_days', '/body/region']) t.ok(pointers.includes(p), `${p} in ${pointers.join(' ')}`);
  t.ok(pointers.some((p: string) => p.startsWith('/body/retention')), 'retention');

  const ok = await api.request('PATCH', `/v1/tasks/${id}`, {
    key,
    headers: { 'if-match': created.headers.get('etag')! },
    body: { name: 'Renamed', retention: { unit: 'months', value: 6 }, retain_archived_days: 30, auto_activate: false, index_for_search: false, frequency: 'weekly' },
  });
  t.equal(ok.status, 200);
  t.match(ok.body, { name: 'Renamed', retention: { unit: 'months', value: 6 }, retain_archived_days: 30, auto_activate: false, index_for_search: false, frequency: 'weekly' });
  const stale = await api.request('PATCH', `/v1/tasks/${id}`, { key, headers: { 'if-match': created.headers.get('etag')! }, body: { name: 'x' } });
  t.equal(stale.status, 412);
});

t.test('delete with a 7-day grace period, undelete, and purge after it', async (t) => {
  const emu = await startDropbox(t);
  emu.state.addMember({ email: 'admin@team.test', admin: true });
  const api = await startTestApp(t, { config: dropboxConfig(emu), start: new Date('2026-05-01T00:00:00Z') });
  const { key, accountId } = await api.signUp();
  const { refreshToken } = emu.state.issueTeamTokens(APP_KEY);
  const created = await api.request('POST', '/v1/tasks', { key, body: { name: 'T', refresh_token: refreshToken } });
  const id = created.body.id;
  await discoveryJob(api.deps, { accountId, taskId: id });

  const deleted = await api.request('DELETE', `/v1/tasks/${id}`, { key });
  t.equal(deleted.status, 200);
  t.equal(deleted.body.state, 'deleted');
  t.equal(deleted.body.purge_time, '2026-05-08T00:00:00.000Z');
  t.same((await api.request('GET', '/v1/tasks', { key })).body.data, [], 'hidden from the default list');
  t.equal((await api.request('GET', '/v1/tasks?state=deleted', { key })).body.data.length, 1);

  const undeleted = await api.request('POST', `/v1/tasks/${id}/undelete`, { key });
  t.equal(undeleted.body.state, 'active');
  t.equal(undeleted.body.purge_time, null);
  const notDeleted = await api.request('POST', `/v1/tasks/${id}/undelete`, { key });
  t.equal(notDeleted.status, 409);

  await api.request('DELETE', `/v1/tasks/${id}`, { key });
  api.clock.advance(7 * 86_400_000 - 1000);
  t.same(await purgeJob(api.deps), { tasks: 0, entities: 0 }, 'nothing is erased inside the grace period');
  api.clock.advance(2000);
  const late = await api.request('POST', `/v1/tasks/${id}/undelete`, { key });
  t.equal(late.status, 410);
  t.same(await purgeJob(api.deps), { tasks: 1, entities: 0 });
  t.equal((await api.request('GET', `/v1/tasks/${id}`, { key })).status, 404);
  const left = await api.database.sql`select count(*)::int as n from entities`;
  t.equal(left[0]!.n, 0, 'its entities are gone with it');
});

t.test('with real workers, connecting a task runs discovery through the queue', async (t) => {
  const emu = await startDropbox(t);
  emu.state.addMember({ email: 'admin@team.test', admin: true });
  emu.state.addMember({ email: 'carol@team.test' });
  const api = await startTestApp(t, { config: dropboxConfig(emu), workers: true });
  const { key } = await api.signUp();
  const created = await api.request('POST', '/v1/tasks', { key, body: { name: 'T' } });
  await connect(api, created.body.authorize_url);
  let entities: { data: unknown[] } = { data: [] };
  for (let i = 0; i < 100 && entities.data.length < 2; i++) {
    await new Promise((r) => setTimeout(r, 100));
    entities = (await api.request('GET', '/v1/entities', { key })).body;
  }
  t.equal(entities.data.length, 2, 'the discovery job ran');
  const again = await api.request('POST', `/v1/tasks/${created.body.id}/discover`, { key });
  t.equal(again.status, 202);
});

t.test('tasks of another account are invisible', async (t) => {
  const emu = await startDropbox(t);
  const api = await startTestApp(t, { config: dropboxConfig(emu) });
  const a = await api.signUp();
  const b = await api.signUp();
  const task = await api.request('POST', '/v1/tasks', { key: a.key, body: { name: 'A' } });
  const id = task.body.id;
  for (const [method, path, body] of [
    ['GET', `/v1/tasks/${id}`], ['PATCH', `/v1/tasks/${id}`, { name: 'x' }], ['DELETE', `/v1/tasks/${id}`],
    ['POST', `/v1/tasks/${id}/undelete`], ['POST', `/v1/tasks/${id}/reconnect`], ['POST', `/v1/tasks/${id}/discover`],
  ] as [string, string, unknown?][]) {
    t.equal((await api.request(method, path, { key: b.key, body })).status, 404, `${method} ${path}`);
  }
  t.same((await api.request('GET', '/v1/tasks', { key: b.key })).body.data, []);
});

t.test('a passed-on Dropbox link does not connect the approver\'s team to the account that started it', async (t) => {
  const emu = await startDropbox(t);
  emu.state.addMember({ email: 'admin@victim.test', admin: true });
  const api = await startTestApp(t, { config: dropboxConfig(emu) });
  const attacker = await api.signUp({ name: '<b>Mallory</b> & Co' });
  const created = await api.request('POST', '/v1/tasks', { key: attacker.key, body: { name: 'Totally legit' } });
  t.equal(created.status, 201);

  // The attacker confirms in their own browser and forwards Dropbox's link to a victim team administrator.
  const attackerBrowser = new CookieJar();
  const page = await api.request('GET', new URL(created.body.authorize_url).pathname + new URL(created.body.authorize_url).search);
  attackerBrowser.take(page);
  const dropboxUrl = await continueToDropbox(api, attackerBrowser, formFields(page.text));
  const approved = await fetch(dropboxUrl, { redirect: 'manual' });
  t.equal(approved.status, 302, 'the victim approves at Dropbox');
  const back = new URL(approved.headers.get('location')!);
  const victimCallback = await api.request('GET', back.pathname + back.search);
  t.equal(victimCallback.status, 403);
  t.equal(victimCallback.body.code, 'oauth_browser_mismatch');
  const [row] = await api.database.sql`select connection_status, refresh_token, dropbox_team_id from tasks where id = ${created.body.id}`;
  t.same(row, { connection_status: 'pending', refresh_token: null, dropbox_team_id: null }, 'nothing was connected');
  const jobs = await api.database.sql`select count(*)::int as n from pgboss.job where name = 'discovery'`.catch(() => [{ n: 0 }]);
  t.equal(jobs[0]!.n, 0, 'no discovery started');

  // Another browser's approval cookie (for another state) does not fit either.
  const other = await api.request('POST', '/v1/tasks', { key: attacker.key, body: { name: 'Other' } });
  const otherApproval = await approveInBrowser(api, other.body.authorize_url);
  const crossed = await api.request('GET', back.pathname + back.search, { headers: otherApproval.headers });
  t.equal(crossed.body.code, 'oauth_browser_mismatch');

  // Sent the Coffer link itself, the victim first sees whose account the team would join (escaped).
  t.match(page.text, `<strong id="account">&#60;b&#62;Mallory&#60;/b&#62; &#38; Co</strong>`);
  t.match(page.text, `<code id="account-id">${attacker.accountId}</code>`);
  t.match(page.text, `<strong id="requested-by">${attacker.body.user.email}</strong>`);
  t.match(page.text, '<strong id="task">Totally legit</strong>');
  t.notMatch(page.text, '<b>Mallory');
  t.equal(page.headers.get('x-frame-options'), 'DENY');
  t.match(page.headers.get('content-security-policy'), `frame-ancestors 'none'`);
  t.match(page.headers.get('content-type'), /^text\/html/);

  // The Continue form cannot be posted from another site (no CSRF cookie, or not this one).
  const state = new URL(created.body.authorize_url).searchParams.get('state')!;
  const forged = await api.request('POST', '/v1/oauth/dropbox/authorize', {
    body: new URLSearchParams({ state, csrf: formFields(page.text).csrf! }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  t.equal(forged.status, 403);
  t.equal(forged.body.code, 'oauth_confirmation_required');
  const wrongCookie = await api.request('POST', '/v1/oauth/dropbox/authorize', {
    body: new URLSearchParams({ state, csrf: formFields(page.text).csrf! }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: 'coffer_dropbox_csrf=somebody-else' },
  });
  t.equal(wrongCookie.body.code, 'oauth_confirmation_required');

  // The browser that confirmed (the attacker's own, holding no victim approval) is the only one that can finish.
  const ownApproval = await approveInBrowser(api, created.body.authorize_url);
  const ok = await api.request('GET', ownApproval.path, { headers: ownApproval.headers });
  t.equal(ok.status, 200);
  t.equal(ok.body.connection_status, 'connected');
});
