// Remote state of `coffer iac`: versions with optimistic concurrency on the serial, history,
// lineage, the size limit, sealing at rest and tenant isolation.
import t from 'tap';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { auditEvents } from '../helpers/audit.ts';

const LINEAGE = '8a4c2a1e-5b0f-4d7e-9c31-1f2e3d4c5b6a';
const doc = (serial: number, extra: Record<string, unknown> = {}) => ({ version: 4, serial, lineage: LINEAGE, resources: [], ...extra });

async function put(api: TestApp, key: string, name: string, body: unknown, headers: Record<string, string> = {}) {
  return api.request('PUT', `/v1/iac/states/${name}`, { key, body, headers });
}

t.test('a state is written, read back byte for byte with its serial as ETag, and every version is kept', async (t) => {
  const api = await startTestApp(t);
  const a = await api.signUp();
  const first = await put(api, a.key, 'prod', doc(1, { outputs: { z: 1, a: 'ü' } }));
  t.equal(first.status, 201, first.text);
  t.equal(first.headers.get('etag'), '"v1"');
  t.match(first.body, { name: 'prod', serial: 1, lineage: LINEAGE, lock: null });
  t.equal(first.body.size, Buffer.byteLength(JSON.stringify(doc(1, { outputs: { z: 1, a: 'ü' } }))));

  const read = await api.request('GET', '/v1/iac/states/prod', { key: a.key });
  t.equal(read.status, 200);
  t.equal(read.headers.get('etag'), '"v1"');
  t.equal(read.text, JSON.stringify(doc(1, { outputs: { z: 1, a: 'ü' } })), 'the document as written, unknown fields and order kept');

  const second = await put(api, a.key, 'prod', doc(2, { note: 'two' }), { 'if-match': '"v1"' });
  t.equal(second.status, 200, second.text);
  t.equal(second.headers.get('etag'), '"v2"');
  const third = await put(api, a.key, 'prod', doc(5), { 'if-match': '"v2"' });
  t.equal(third.status, 200, 'a serial may jump ahead');

  const versions = await api.request('GET', '/v1/iac/states/prod/versions?limit=2', { key: a.key });
  t.same(versions.body.data.map((v: { serial: number }) => v.serial), [5, 2], 'newest first');
  t.equal(versions.body.data[0].created_by, a.userId);
  const rest = await api.request('GET', `/v1/iac/states/prod/versions?limit=2&cursor=${versions.body.next_cursor}`, { key: a.key });
  t.same(rest.body.data.map((v: { serial: number }) => v.serial), [1]);
  t.equal(rest.body.next_cursor, null);
  const old = await api.request('GET', '/v1/iac/states/prod/versions/2', { key: a.key });
  t.equal(old.text, JSON.stringify(doc(2, { note: 'two' })));
  t.equal(old.headers.get('etag'), '"v2"');
  t.equal((await api.request('GET', '/v1/iac/states/prod/versions/3', { key: a.key })).status, 404);

  const list = await api.request('GET', '/v1/iac/states', { key: a.key });
  t.same(list.body.data.map((s: { name: string; serial: number }) => [s.name, s.serial]), [['prod', 5]]);

  const events = (await auditEvents(api, a.key)).filter((e) => e.type === 'iac_state_written');
  t.same(events.map((e) => [e.details.state, e.details.serial, e.details.previous_serial]), [['prod', 1, null], ['prod', 2, 1], ['prod', 5, 2]]);
  t.notOk(JSON.stringify(events).includes('two'), 'the audit log holds no state content');
});

t.test('lost update: a write based on a stale serial is refused with 412 and stores nothing', async (t) => {
  const api = await startTestApp(t);
  const a = await api.signUp();
  t.equal((await put(api, a.key, 'prod', doc(1))).status, 201);
  t.equal((await put(api, a.key, 'prod', doc(2), { 'if-match': '"v1"' })).status, 200, 'run A writes serial 2');

  const stale = await put(api, a.key, 'prod', doc(2, { from: 'run B' }), { 'if-match': '"v1"' });
  t.equal(stale.status, 412, 'run B, which read serial 1, is refused');
  t.equal(stale.body.code, 'precondition_failed');
  t.match(stale.body.detail, /at serial 2, not 1/);
  const missing = await put(api, a.key, 'prod', doc(3));
  t.equal(missing.status, 412, 'a write without If-Match cannot overwrite an existing state');
  t.match(missing.body.detail, /already exists at serial 2/);
  const onAbsent = await put(api, a.key, 'staging', doc(1), { 'if-match': '"v1"' });
  t.equal(onAbsent.status, 412, 'If-Match on a state that does not exist');

  const read = await api.request('GET', '/v1/iac/states/prod', { key: a.key });
  t.equal(read.text, JSON.stringify(doc(2)));
  const versions = await api.request('GET', '/v1/iac/states/prod/versions', { key: a.key });
  t.same(versions.body.data.map((v: { serial: number }) => v.serial), [2, 1]);
  t.equal((await api.request('GET', '/v1/iac/states/staging', { key: a.key })).status, 404);
});

t.test('a document of another lineage, or one that does not raise the serial, is refused', async (t) => {
  const api = await startTestApp(t);
  const a = await api.signUp();
  t.equal((await put(api, a.key, 'prod', doc(3))).status, 201);
  const other = await put(api, a.key, 'prod', { ...doc(4), lineage: 'another-state' }, { 'if-match': '"v3"' });
  t.equal(other.status, 409);
  t.equal(other.body.code, 'lineage_mismatch');
  const same = await put(api, a.key, 'prod', doc(3, { changed: true }), { 'if-match': '"v3"' });
  t.equal(same.status, 409);
  t.equal(same.body.code, 'serial_not_increased');
  const lower = await put(api, a.key, 'prod', doc(2), { 'if-match': '"v3"' });
  t.equal(lower.body.code, 'serial_not_increased');

  const retry = await put(api, a.key, 'prod', doc(3), { 'if-match': '"v3"' });
  t.equal(retry.status, 200, 'writing the current document again (a retried PUT) changes nothing and succeeds');
  const versions = await api.request('GET', '/v1/iac/states/prod/versions', { key: a.key });
  t.same(versions.body.data.map((v: { serial: number }) => v.serial), [3]);

  const invalid = await put(api, a.key, 'prod', { serial: 4, lineage: LINEAGE });
  t.equal(invalid.status, 400, 'a document without a version');
  t.equal((await api.request('PUT', '/v1/iac/states/bad%2Fname', { key: a.key, body: doc(1) })).status, 400, 'a name that is not one path segment');
});

t.test('a document over 8 MiB is refused with 413 body_too_large and nothing is stored', async (t) => {
  const api = await startTestApp(t);
  const a = await api.signUp();
  const big = doc(1, { padding: 'x'.repeat(8 * 1024 * 1024) });
  const res = await put(api, a.key, 'prod', big);
  t.equal(res.status, 413);
  t.equal(res.body.code, 'body_too_large');
  t.equal((await api.request('GET', '/v1/iac/states/prod', { key: a.key })).status, 404);
  const fits = await put(api, a.key, 'prod', doc(1, { padding: 'x'.repeat(7 * 1024 * 1024) }));
  t.equal(fits.status, 201, 'a 7 MiB document is accepted');
});

t.test('state documents are sealed at rest: the stored row does not contain the document', async (t) => {
  const api = await startTestApp(t);
  const a = await api.signUp();
  const marker = 'MARKER-7f3a9c-secret-attribute';
  t.equal((await put(api, a.key, 'prod', doc(1, { resources: [{ attributes: { secret: marker } }] }))).status, 201);
  const rows = await api.deps.sql`select * from iac_state_versions where account_id = ${a.accountId}`;
  t.equal(rows.length, 1);
  const stored = JSON.stringify(rows[0]);
  t.notOk(stored.includes(marker), 'the marker is not in the row');
  t.notOk(stored.includes('resources'), 'nor any of the document\'s JSON');
  t.match(String(rows[0]!.body), /^s1\./, 'sealed with the keyring');
  // The seal names the account and the state: a body copied to another state's row does not open.
  t.equal((await put(api, a.key, 'staging', doc(1))).status, 201);
  await api.deps.sql`update iac_state_versions set body = ${rows[0]!.body} where account_id = ${a.accountId} and name = 'staging'`;
  const moved = await api.request('GET', '/v1/iac/states/staging', { key: a.key });
  t.equal(moved.status, 500, 'a moved body fails authentication instead of being served');
  t.notOk(moved.text.includes(marker));
  const read = await api.request('GET', '/v1/iac/states/prod', { key: a.key });
  t.ok(read.text.includes(marker), 'the owner reads it back');
});

t.test('tenant isolation: another account\'s state name is a state of its own, never the other one\'s', async (t) => {
  const api = await startTestApp(t);
  const a = await api.signUp();
  const b = await api.signUp();
  t.equal((await put(api, a.key, 'prod', doc(7, { owner: 'A' }))).status, 201);
  t.equal((await api.request('POST', '/v1/iac/states/prod/lock', { key: a.key, body: { operation: 'apply', who: 'a@ci' } })).status, 201);

  for (const path of ['/v1/iac/states/prod', '/v1/iac/states/prod/versions', '/v1/iac/states/prod/versions/7']) {
    const res = await api.request('GET', path, { key: b.key });
    t.equal(res.status, 404, `B: GET ${path}`);
    t.notOk(res.text.includes('owner'));
  }
  t.same((await api.request('GET', '/v1/iac/states', { key: b.key })).body.data, [], 'B lists nothing');
  t.equal((await api.request('DELETE', '/v1/iac/states/prod', { key: b.key })).status, 404, 'B cannot delete A\'s state');
  t.equal((await put(api, b.key, 'prod', doc(8), { 'if-match': '"v7"' })).status, 412, 'B cannot write on top of A\'s serial');
  const own = await put(api, b.key, 'prod', doc(1, { owner: 'B' }));
  t.equal(own.status, 201, 'B\'s "prod" is B\'s own state, not locked by A\'s lock');
  t.equal((await api.request('GET', '/v1/iac/states/prod', { key: a.key })).text, JSON.stringify(doc(7, { owner: 'A' })), 'A\'s state is untouched');
  t.equal((await api.request('GET', '/v1/iac/states/prod', { key: b.key })).text, JSON.stringify(doc(1, { owner: 'B' })));
});

t.test('deleting a state removes it and its history; the permission iac_state:manage is needed', async (t) => {
  const api = await startTestApp(t);
  const a = await api.signUp();
  t.equal((await put(api, a.key, 'prod', doc(1))).status, 201);
  t.equal((await put(api, a.key, 'prod', doc(2), { 'if-match': '"v1"' })).status, 200);

  const scoped = await api.request('POST', '/v1/api-keys', { key: a.key, body: { name: 'reader', scopes: ['backups:read'] } });
  const denied = await api.request('GET', '/v1/iac/states/prod', { key: scoped.body.secret });
  t.equal(denied.status, 403);
  t.equal(denied.body.code, 'permission_denied');

  t.equal((await api.request('DELETE', '/v1/iac/states/prod', { key: a.key, headers: { 'if-match': '"v1"' } })).status, 412, 'a stale If-Match on delete');
  t.equal((await api.request('DELETE', '/v1/iac/states/prod', { key: a.key })).status, 204);
  t.equal((await api.request('GET', '/v1/iac/states/prod', { key: a.key })).status, 404);
  t.equal((await api.request('GET', '/v1/iac/states/prod/versions/1', { key: a.key })).status, 404);
  const [{ count }] = await api.deps.sql`select count(*)::int as count from iac_state_versions where account_id = ${a.accountId}`;
  t.equal(count, 0, 'no version is left behind');
  t.equal((await api.request('DELETE', '/v1/iac/states/prod', { key: a.key })).status, 404);
  t.equal((await auditEvents(api, a.key)).filter((e) => e.type === 'iac_state_deleted').length, 1);
  t.equal((await put(api, a.key, 'prod', { ...doc(1), lineage: 'a-new-one' })).status, 201, 'the name can start a new lineage');
});
