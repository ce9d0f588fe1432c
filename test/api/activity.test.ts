import t from 'tap';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { newId } from '../../db/ids.ts';
import { activityEvents } from '../../db/schema.ts';
import { Coffer } from '../../sdk/client.ts';

type Insert = Omit<typeof activityEvents.$inferInsert, 'id' | 'accountId'>;

async function seed(api: TestApp, accountId: string) {
  const base = Date.parse('2026-07-11T13:00:00Z');
  const rows: Insert[] = [
    { type: 'export', subService: 'files', status: 'succeeded', taskName: 'Full Dropbox Backup / bob.smith@ca4software.test', item: 'bob.smith@ca4software.test', description: 'Exported 120 files (1.2 MB).', durationMs: 252_000, sizeBytes: 1_200_000, counts: { files: 120 }, occurredAt: new Date(base + 3 * 3600_000) },
    { type: 'backup', subService: 'team_folders', status: 'succeeded', taskName: 'Team folders backup', item: '/Marketing 100%_done', description: 'Backed up 40 changed files.', durationMs: 3_723_000, sizeBytes: 52_428_800, counts: { files: 40, folders: 3 }, occurredAt: new Date(base) },
    { type: 'restore', status: 'succeeded', jobId: 'job_000000000000000000000restr', taskName: 'Full Dropbox Backup', item: '.../Zsepo_kazandev_pro', description: 'Restored 2 files.', durationMs: 800, sizeBytes: 2048, counts: { files: 2 }, occurredAt: new Date(base) },
    { type: 'backup', subService: 'files', status: 'failed', taskName: 'Full Dropbox Backup', item: 'mila.scott@ca4software.test', description: 'Backup failed: the member\'s token was revoked.', durationMs: 45_000, occurredAt: new Date(base - 8 * 3600_000), details: { error: 'invalid_access_token' } },
    { type: 'discovery', status: 'succeeded', taskName: 'Full Dropbox Backup', description: 'Discovered 12 users and team folders.', counts: { discovered: 12 }, occurredAt: new Date(base - 5 * 86_400_000) },
  ];
  const inserted = [];
  for (const r of rows) {
    const [row] = await api.deps.db.insert(activityEvents).values({ id: newId('evt'), accountId, service: 'dropbox', ...r }).returning();
    inserted.push(row!);
  }
  return inserted;
}

t.test('list newest first, filters, pagination, detail', async (t) => {
  const api = await startTestApp(t);
  const a = await api.signUp();
  const rows = await seed(api, a.accountId);
  const get = (q = '') => api.request('GET', `/v1/activity${q}`, { key: a.key });

  const all = await get();
  t.equal(all.status, 200);
  t.same(all.body.data.map((e: { item: string | null }) => e.item), [
    'bob.smith@ca4software.test',
    // same time: the later id first
    '.../Zsepo_kazandev_pro', '/Marketing 100%_done',
    'mila.scott@ca4software.test', null,
  ]);
  t.same(all.body.data[0], {
    id: rows[0]!.id, date: '2026-07-11T16:00:00.000Z', activity: 'export', service: 'dropbox', sub_service: 'files', status: 'succeeded',
    task_id: null, task_name: 'Full Dropbox Backup / bob.smith@ca4software.test', entity_id: null, item: 'bob.smith@ca4software.test', job_id: null,
    description: 'Exported 120 files (1.2 MB).', duration_ms: 252000, size_bytes: 1200000, counts: { files: 120 },
  });
  t.equal(all.body.next_cursor, null);

  // Cursor pagination, two at a time, across the two events with the same time.
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page = await get(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
    t.equal(page.status, 200);
    seen.push(...page.body.data.map((e: { id: string }) => e.id));
    cursor = page.body.next_cursor;
    pages++;
  } while (cursor);
  t.equal(pages, 3);
  t.same(seen, all.body.data.map((e: { id: string }) => e.id), 'pages add up to the whole list, in order');
  const ofJob = await get('?job_id=job_000000000000000000000restr');
  t.same(ofJob.body.data.map((e: { id: string }) => e.id), [rows[2]!.id], 'the events of one job ("View Log" from a job)');
  t.equal((await get('?job_id=job_0000000000000000000000none')).body.data.length, 0);
  t.equal((await get('?job_id=nope')).status, 400);
  const badCursor = await get('?cursor=bm9wZQ');
  t.equal(badCursor.status, 400);
  t.equal(badCursor.body.code, 'invalid_cursor');

  const ids = async (q: string) => (await get(q)).body.data.map((e: { id: string }) => e.id);
  t.same(await ids('?activity=backup'), [rows[1]!.id, rows[3]!.id]);
  t.same(await ids('?status=failed'), [rows[3]!.id]);
  t.same(await ids('?activity=backup&status=succeeded'), [rows[1]!.id]);
  t.same(await ids('?task_name=full%20dropbox'), [rows[0]!.id, rows[2]!.id, rows[3]!.id, rows[4]!.id]);
  t.same(await ids('?item=100%25_'), [rows[1]!.id], 'item search treats % and _ literally');
  t.same(await ids('?item=ca4software'), [rows[0]!.id, rows[3]!.id]);
  t.same(await ids('?service=Dropbox'), all.body.data.map((e: { id: string }) => e.id));
  t.same(await ids('?service=google'), []);
  t.same(await ids(`?from=2026-07-11T00:00:00Z&to=${encodeURIComponent('2026-07-11T16:00:00Z')}`), [rows[2]!.id, rows[1]!.id, rows[3]!.id], 'from inclusive, to exclusive');
  const backwards = await get('?from=2026-07-12T00:00:00Z&to=2026-07-11T00:00:00Z');
  t.equal(backwards.status, 400);
  t.equal(backwards.body.code, 'validation_failed');
  const badEnum = await get('?activity=sync');
  t.equal(badEnum.status, 400);
  t.equal((await get('?status=done')).status, 400);

  const detail = await api.request('GET', `/v1/activity/${rows[1]!.id}`, { key: a.key });
  t.equal(detail.status, 200);
  t.match(detail.body, { id: rows[1]!.id, execution_time: '1h 02m 03s', duration_ms: 3723000, size_bytes: 52428800, counts: { files: 40, folders: 3 }, summary: 'Backed up 40 changed files.', details: null });
  t.equal((await api.request('GET', `/v1/activity/${rows[2]!.id}`, { key: a.key })).body.execution_time, '0.8s');
  t.equal((await api.request('GET', `/v1/activity/${rows[0]!.id}`, { key: a.key })).body.execution_time, '4m 12s');
  const failed = await api.request('GET', `/v1/activity/${rows[3]!.id}`, { key: a.key });
  t.same(failed.body.details, { error: 'invalid_access_token' });
  t.equal((await api.request('GET', `/v1/activity/${rows[4]!.id}`, { key: a.key })).body.execution_time, null);
  const missing = await api.request('GET', `/v1/activity/${newId('evt')}`, { key: a.key });
  t.equal(missing.status, 404);
  t.equal((await api.request('GET', '/v1/activity/aud_01jd8x4z3q9v6w2k5m7n0p1r8s', { key: a.key })).status, 400);
});

t.test('CSV export with the same filters', async (t) => {
  const api = await startTestApp(t);
  const a = await api.signUp();
  const rows = await seed(api, a.accountId);
  const csv = await api.request('GET', '/v1/activity?activity=backup&limit=1', { key: a.key, headers: { accept: 'text/csv' } });
  t.equal(csv.status, 200);
  t.match(csv.headers.get('content-type'), /^text\/csv/);
  t.match(csv.headers.get('content-disposition'), 'system-activity.csv');
  const lines = csv.text.trim().split('\n');
  t.equal(lines[0], 'date,activity,service,sub_service,status,task_name,item,execution_time,duration_ms,size_bytes,counts,description,id');
  t.equal(lines.length, 3, 'every matching event, not one page');
  t.equal(lines[1], `2026-07-11T13:00:00.000Z,backup,dropbox,team_folders,succeeded,Team folders backup,/Marketing 100%_done,1h 02m 03s,3723000,52428800,files=40; folders=3,Backed up 40 changed files.,${rows[1]!.id}`);
  t.equal(lines[2], `2026-07-11T05:00:00.000Z,backup,dropbox,files,failed,Full Dropbox Backup,mila.scott@ca4software.test,45s,45000,,,Backup failed: the member's token was revoked.,${rows[3]!.id}`);
  const json = await api.request('GET', '/v1/activity?activity=backup&limit=1', { key: a.key, headers: { accept: 'application/json' } });
  t.equal(json.body.data.length, 1);
});

t.test('tenant isolation and permission', async (t) => {
  const api = await startTestApp(t);
  const a = await api.signUp();
  const b = await api.signUp();
  const rows = await seed(api, a.accountId);
  const list = await api.request('GET', '/v1/activity', { key: b.key });
  t.same(list.body.data, [], 'B sees none of A\'s events');
  const csv = await api.request('GET', '/v1/activity', { key: b.key, headers: { accept: 'text/csv' } });
  t.equal(csv.text.trim().split('\n').length, 1, 'header only');
  for (const row of rows) {
    const res = await api.request('GET', `/v1/activity/${row.id}`, { key: b.key });
    t.equal(res.status, 404, row.id);
  }
  // A cursor made from A's rows does not reveal them to B.
  const page = await api.request('GET', '/v1/activity?limit=1', { key: a.key });
  const viaCursor = await api.request('GET', `/v1/activity?cursor=${page.body.next_cursor}`, { key: b.key });
  t.same(viaCursor.body.data, []);

  const key = await api.request('POST', '/v1/api-keys', { key: a.key, body: { name: 'no activity', scopes: ['account:read'] } });
  const denied = await api.request('GET', '/v1/activity', { key: key.body.secret });
  t.equal(denied.status, 403);
  t.equal(denied.body.code, 'permission_denied');
  t.equal((await api.request('GET', `/v1/activity/${rows[0]!.id}`, { key: key.body.secret })).status, 403);
  t.equal((await api.request('GET', '/v1/activity')).status, 401);
});

t.test('through the SDK: typed list, pagination and detail', async (t) => {
  const api = await startTestApp(t);
  const a = await api.signUp();
  const rows = await seed(api, a.accountId);
  const coffer = new Coffer({ baseUrl: api.url, apiKey: a.key });
  const items: (string | null)[] = [];
  for await (const e of coffer.paginate('/v1/activity', { limit: 2, activity: 'backup' })) items.push(e.item);
  t.same(items, ['/Marketing 100%_done', 'mila.scott@ca4software.test']);
  const detail = await coffer.get('/v1/activity/{id}', { params: { path: { id: rows[1]!.id } } });
  t.equal(detail.execution_time, '1h 02m 03s');
});
