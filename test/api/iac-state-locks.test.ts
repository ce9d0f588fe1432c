// Locks on remote IaC state: two runs on one state, the holder's writes, release, force-unlock.
import t from 'tap';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { auditEvents } from '../helpers/audit.ts';

const doc = (serial: number) => ({ version: 4, serial, lineage: 'lin-1', resources: [] });
const lock = (api: TestApp, key: string, who = 'alice@ci-1', operation = 'apply') =>
  api.request('POST', '/v1/iac/states/prod/lock', { key, body: { operation, who } });

/** A second user of the same account with its own session (invited, confirmed through the mailed link). */
async function secondUser(api: TestApp, adminKey: string): Promise<string> {
  const email = `bob-${Math.random().toString(36).slice(2, 8)}@example.test`;
  const invited = await api.request('POST', '/v1/users', { key: adminKey, body: { email, role: 'administrator', permissions: [] } });
  if (invited.status !== 201) throw new Error(invited.text);
  const mail = api.sentMail.find((m) => m.to === email)!;
  const token = /[?&]token=([^\s&"]+)/.exec(mail.text)![1]!;
  const confirmed = await api.request('POST', '/v1/users/confirm', { body: { token, password: 'correct horse battery staple' } });
  if (confirmed.status !== 200) throw new Error(confirmed.text);
  const session = await api.request('POST', '/v1/sessions', { body: { email, password: 'correct horse battery staple' } });
  if (session.status !== 201) throw new Error(session.text);
  return session.body.token;
}

t.test('two runs on one state: the second fails on the lock, naming who holds it, since when and for what', async (t) => {
  const api = await startTestApp(t);
  const a = await api.signUp();
  const first = await lock(api, a.key);
  t.equal(first.status, 201, 'a state that does not exist yet can be locked (a first apply locks before it writes)');
  t.match(first.body, { who: 'alice@ci-1', operation: 'apply', user_id: a.userId, created_at: String });
  t.match(first.body.id, /^[0-9a-f-]{36}$/);

  const second = await lock(api, a.key, 'bob@ci-2', 'destroy');
  t.equal(second.status, 409);
  t.equal(second.body.code, 'state_locked');
  t.same(second.body.lock, first.body, 'the problem names the holder');
  t.match(second.body.detail, /locked by alice@ci-1 \(apply\) since .*; lock id /);

  const listed = await api.request('GET', '/v1/iac/states', { key: a.key });
  t.same(listed.body.data.map((s: { name: string; serial: null; lock: { id: string } }) => [s.name, s.serial, s.lock.id]), [['prod', null, first.body.id]]);
  t.equal((await api.request('GET', '/v1/iac/states/prod', { key: a.key })).status, 404, 'a lock alone is no state');

  // Concurrent attempts: exactly one wins.
  t.equal((await api.request('DELETE', `/v1/iac/states/prod/lock?id=${first.body.id}`, { key: a.key })).status, 204);
  t.equal((await api.request('GET', '/v1/iac/states', { key: a.key })).body.data.length, 0, 'releasing the lock of a never-written state leaves nothing');
  const racing = await Promise.all([1, 2, 3, 4].map((i) => lock(api, a.key, `run-${i}`)));
  t.same(racing.map((r) => r.status).sort(), [201, 409, 409, 409]);
});

t.test('a write or delete while another run holds the lock is refused; the holder writes with Coffer-Lock-Id', async (t) => {
  const api = await startTestApp(t);
  const a = await api.signUp();
  const held = (await lock(api, a.key)).body;
  const put = (serial: number, headers: Record<string, string> = {}) => api.request('PUT', '/v1/iac/states/prod', { key: a.key, body: doc(serial), headers });

  const intruder = await put(1);
  t.equal(intruder.status, 409, 'no lock id');
  t.equal(intruder.body.code, 'state_locked');
  t.equal(intruder.body.lock.who, 'alice@ci-1');
  t.equal((await put(1, { 'coffer-lock-id': '00000000-0000-0000-0000-000000000000' })).body.code, 'state_locked', 'a wrong lock id');
  t.equal((await put(1, { 'coffer-lock-id': held.id })).status, 201, 'the holder writes');
  t.equal((await put(2, { 'coffer-lock-id': held.id, 'if-match': '"v1"' })).status, 200);
  t.equal((await put(3, { 'if-match': '"v2"' })).status, 409, 'still locked for everyone else');
  const del = await api.request('DELETE', '/v1/iac/states/prod', { key: a.key });
  t.equal(del.status, 409);
  t.equal(del.body.code, 'state_locked');

  t.equal((await api.request('DELETE', '/v1/iac/states/prod/lock?id=not-the-id', { key: a.key })).body.code, 'lock_id_mismatch', 'releasing needs the lock id');
  t.equal((await api.request('DELETE', `/v1/iac/states/prod/lock?id=${held.id}`, { key: a.key })).status, 204);
  t.equal((await api.request('DELETE', `/v1/iac/states/prod/lock?id=${held.id}`, { key: a.key })).body.code, 'state_not_locked');
  t.equal((await put(3, { 'if-match': '"v2"' })).status, 200, 'unlocked: anyone may write again');
  const types = (await auditEvents(api, a.key)).map((e) => e.type).filter((x) => x.startsWith('iac_state'));
  t.same(types, ['iac_state_locked', 'iac_state_written', 'iac_state_written', 'iac_state_unlocked', 'iac_state_written']);
});

t.test('force-unlock: another user releases a dead run\'s lock only with force=true, and the audit log says so', async (t) => {
  const api = await startTestApp(t);
  const a = await api.signUp();
  const bob = await secondUser(api, a.key);
  const held = (await lock(api, a.key)).body;

  const plain = await api.request('DELETE', `/v1/iac/states/prod/lock?id=${held.id}`, { key: bob });
  t.equal(plain.status, 409);
  t.equal(plain.body.code, 'lock_held_by_another_user');
  t.match(plain.body.detail, /taken by .*@.*force=true/);
  t.equal((await lock(api, bob)).body.code, 'state_locked', 'still held');

  const wrongId = await api.request('DELETE', '/v1/iac/states/prod/lock?id=another&force=true', { key: bob });
  t.equal(wrongId.body.code, 'lock_id_mismatch', 'force still names the lock it breaks');

  const forced = await api.request('DELETE', `/v1/iac/states/prod/lock?id=${held.id}&force=true`, { key: bob });
  t.equal(forced.status, 204);
  const taken = await lock(api, bob, 'bob@laptop');
  t.equal(taken.status, 201, 'the state can be locked again');
  const event = (await auditEvents(api, a.key)).find((e) => e.type === 'iac_state_force_unlocked');
  t.ok(event, 'audited as a force-unlock');
  t.match(event.details, { state: 'prod', forced: true, lock: { id: held.id, who: 'alice@ci-1', operation: 'apply' } });
  t.ok(event.performed_by_user_id && event.performed_by_user_id !== a.userId, 'performed by the other user');
});
