// A job's results file by file (GET /v1/jobs/{id}/items): where a restore committed each file
// (renamed beside a changed one), once each across a worker crash and resume; an export's ZIP
// entries, and nothing for an export that wrote nothing; pages, CSV, isolation.
import t from 'tap';
import { startRecoveryFixture, type RecoveryFixture } from '../helpers/recovery-fixture.ts';
import { runRestore } from '../../workers/recovery/restore.ts';
import { runExport } from '../../workers/recovery/export.ts';

let fx: RecoveryFixture;
const items = async (jobId: string, qs = 'limit=100') => {
  const res = await fx.get(`/v1/jobs/${jobId}/items?${qs}`);
  if (res.status !== 200) throw new Error(`${res.status} ${res.text}`);
  return res.body as { data: { path: string; destination: string | null; size: number; status: string; error: string | null }[]; next_cursor: string | null };
};

t.before(async () => {
  fx = await startRecoveryFixture(t, {
    '/Docs/a.txt': 'aaa',
    '/Docs/b.txt': 'bb',
    '/c.txt': 'c',
    '/=SUM(1,2).txt': 'formula',
  });
  // Changed in Dropbox since the backup: an in-place restore puts the backed-up copy beside it.
  fx.emu.state.putFile(fx.member, '/Docs/a.txt', 'changed since');
});

t.test('a restore lists each file once, where it was committed, across a crash and resume', async (t) => {
  const job = (await fx.post('/v1/restores', { source: { snapshot_id: fx.runId }, destination: { mode: 'in_place' } })).body;
  t.same((await items(job.id)).data, [], 'nothing before it runs');
  await t.rejects(runRestore(fx.app.deps, job.id, { batchFiles: 2, afterBatch: ({ batch }) => { if (batch === 1) throw new Error('worker killed'); } }), /worker killed/);
  t.same((await items(job.id)).data.map((i) => i.path), ['/=SUM(1,2).txt', '/c.txt'], 'the committed batch, listed with its checkpoint');
  t.equal(await runRestore(fx.app.deps, job.id, { batchFiles: 2 }), 'succeeded');
  const all = (await items(job.id)).data;
  t.same(all, [
    { path: '/=SUM(1,2).txt', destination: '/=SUM(1,2).txt', size: 7, status: 'restored', error: null },
    { path: '/c.txt', destination: '/c.txt', size: 1, status: 'restored', error: null },
    { path: '/Docs/a.txt', destination: '/Docs/a (1).txt', size: 3, status: 'restored', error: null },
    { path: '/Docs/b.txt', destination: '/Docs/b.txt', size: 2, status: 'restored', error: null },
  ], 'every file once, in order; the changed one renamed beside it');
  t.equal(fx.emu.state.readFile(fx.member, '/Docs/a (1).txt').toString(), 'aaa', 'where the list says it is');
  t.equal((await fx.get(`/v1/jobs/${job.id}`)).body.items_done, all.length);

  // Pages of one, in the same order.
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const page: Awaited<ReturnType<typeof items>> = await items(job.id, `limit=1${cursor ? `&cursor=${cursor}` : ''}`);
    t.ok(page.data.length <= 1);
    seen.push(...page.data.map((i) => i.path));
    cursor = page.next_cursor;
  } while (cursor);
  t.same(seen, all.map((i) => i.path));
  const forged = Buffer.from(JSON.stringify({ v: 1, id: '1 or 1=1' })).toString('base64url');
  t.equal((await fx.get(`/v1/jobs/${job.id}/items?cursor=${forged}`)).status, 400);

  // The same as CSV, formula cells neutralized.
  const csv = await fx.app.request('GET', `/v1/jobs/${job.id}/items`, { key: fx.account.key, headers: { accept: 'text/csv' } });
  t.equal(csv.status, 200);
  t.match(csv.headers.get('content-type'), /^text\/csv/);
  t.equal(csv.text, [
    'path,destination,size,status,error',
    '"/=SUM(1,2).txt","/=SUM(1,2).txt",7,restored,',
    '/c.txt,/c.txt,1,restored,',
    '/Docs/a.txt,/Docs/a (1).txt,3,restored,',
    '/Docs/b.txt,/Docs/b.txt,2,restored,',
    '',
  ].join('\n'));
});

t.test('an export lists its ZIP entries; one that wrote nothing lists nothing', async (t) => {
  const job = (await fx.post('/v1/exports', { source: { snapshot_id: fx.runId, items: ['/Docs'] }, destination: { type: 'download' } })).body;
  t.equal(await runExport(fx.app.deps, job.id), 'succeeded');
  t.same((await items(job.id)).data, [
    { path: '/Docs/a.txt', destination: 'Docs/a.txt', size: 3, status: 'exported', error: null },
    { path: '/Docs/b.txt', destination: 'Docs/b.txt', size: 2, status: 'exported', error: null },
  ]);
  const csv = await fx.app.request('GET', `/v1/jobs/${job.id}/items`, { key: fx.account.key, headers: { accept: 'text/csv' } });
  t.equal(csv.text, 'path,destination,size,status,error\n/Docs/a.txt,Docs/a.txt,3,exported,\n/Docs/b.txt,Docs/b.txt,2,exported,\n');

  // Canceled after its first file was checkpointed: the archive was discarded, so was its list.
  const canceled = (await fx.post('/v1/exports', { source: { snapshot_id: fx.runId }, destination: { type: 'download' } })).body;
  const outcome = await runExport(fx.app.deps, canceled.id, {
    afterFile: async (n) => {
      if (n === 1) await new Promise((r) => setTimeout(r, 1100)); // the next check flushes progress
      if (n === 2) {
        t.equal((await items(canceled.id)).data.length, 1, 'checkpointed while running');
        await fx.post(`/v1/jobs/${canceled.id}/cancel`, {});
      }
    },
  });
  t.equal(outcome, 'canceled');
  t.same((await items(canceled.id)).data, [], 'nothing was written, nothing is listed');
});

t.test('another account cannot read a job\'s items', async (t) => {
  const job = (await fx.get('/v1/jobs?limit=1')).body.data[0];
  const stranger = await fx.app.signUp();
  const res = await fx.get(`/v1/jobs/${job.id}/items`, stranger.key);
  t.equal(res.status, 404);
  t.equal(res.body.code, 'not_found');
  const csv = await fx.app.request('GET', `/v1/jobs/${job.id}/items`, { key: stranger.key, headers: { accept: 'text/csv' } });
  t.equal(csv.status, 404);
  t.equal((await fx.get('/v1/jobs/job_00000000000000000000000000/items')).status, 404);
});
