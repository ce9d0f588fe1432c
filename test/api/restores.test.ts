// Restores through the emulator: each destination mode byte for byte and by content_hash, the
// data-transport budget, the monthly limit, cancel, a worker dying mid-job, validation and isolation.
import t from 'tap';
import { startRecoveryFixture, dropboxHash, type RecoveryFixture } from '../helpers/recovery-fixture.ts';
import type { Member } from '../dropbox-emulator/state.ts';
import { runRestoreJob } from '../../workers/jobs/recovery.ts';
import { latestRevision } from '../dropbox-emulator/state.ts';
import { DropboxTeam } from '../../workers/dropbox/client.ts';
import { REFRESH_TOKEN_CONTEXT } from '../../workers/dropbox/connection.ts';
import { requestUrl } from '../../workers/dropbox/transport.ts';

const MiB = 1024 * 1024;
const FILES = {
  '/Docs/a.txt': 'hello',
  '/Docs/empty.txt': '',
  '/Fotos/Ünïcødé 日本/naïve café.txt': 'unicode ✓',
  '/big.bin': Buffer.alloc(5 * MiB + 3, 7),
  '/Docs/Deep/b.md': '# b',
};
// Small knobs so the chunked large-file path (start_batch → append_v2 × 2 → finish_batch_v2) runs in tests.
const LARGE = { smallFileMax: 1 * MiB, chunkBytes: 4 * MiB };

const SET: Record<string, string> = {};
for (let i = 0; i < 50; i++) SET[`/Set/f${String(i).padStart(2, '0')}.txt`] = `file ${i}`;
const ALL: Record<string, Buffer | string> = { ...FILES, ...SET };

// One app, emulator and backed-up member shared by the tests (each writes into its own folders or members).
let fx: RecoveryFixture;
t.before(async () => {
  fx = await startRecoveryFixture(t, ALL);
  fx.emu.state.mkdir(fx.member, '/Empty folder');
  const again = await fx.backup(fx.entityId);
  if (again.outcome !== 'succeeded') throw new Error('backup failed');
  fx.runId = again.runId;
});

let members = 0;
/** Another member of the team with these files, backed up once. */
async function memberWith(files: Record<string, Buffer | string>): Promise<{ member: Member; entityId: string; runId: string }> {
  members++;
  const member = fx.emu.state.addMember({ email: `member${members}@coffer-emu.test`, givenName: 'Member', surname: String(members) });
  for (const [p, c] of Object.entries(files)) fx.emu.state.putFile(member, p, c);
  const entityId = await fx.memberEntity(member);
  const out = await fx.backup(entityId);
  if (out.outcome !== 'succeeded') throw new Error('backup failed');
  return { member, entityId, runId: out.runId };
}

t.test('non-destructive restore: a new folder named with the restore time, every file byte for byte and by content_hash', async (t) => {
  const before = fx.emu.counters.dataTransportThisMonth();
  const res = await fx.post('/v1/restores', { source: { snapshot_id: fx.runId }, destination: { mode: 'non_destructive' } });
  t.equal(res.status, 202, res.text);
  t.equal(res.headers.get('location'), `/v1/jobs/${res.body.id}`);
  t.equal(res.body.state, 'pending');
  t.equal(res.body.type, 'restore');
  t.equal(res.body.items_total, 55);
  t.equal(res.body.bytes_total, Object.values(ALL).reduce((n, c) => n + Buffer.byteLength(c), 0));
  t.equal(await runRestoreJob(fx.app.deps, res.body.id, LARGE), 'succeeded');

  const job = (await fx.get(`/v1/jobs/${res.body.id}`)).body;
  t.equal(job.state, 'succeeded');
  t.equal(job.items_done, 55);
  t.equal(job.items_failed, 0);
  t.equal(job.bytes_done, job.bytes_total);
  t.match(job.destination.path, /^\/Restored \d{4}-\d\d-\d\d \d\d-\d\d-\d\d UTC$/);
  t.ok(job.started_at && job.finished_at);
  const restored = fx.filesUnder(fx.member.homeNsId, job.destination.path);
  t.same([...restored.keys()].sort(), Object.keys(ALL).map((p) => p.toLowerCase()).sort(), 'exactly the snapshot');
  for (const [p, c] of Object.entries(ALL)) {
    const entry = fx.emu.state.getEntry(fx.member, `${job.destination.path}${p}`)!;
    t.ok(latestRevision(entry).bytes.equals(Buffer.from(c)), `${p}: same bytes`);
    t.equal(latestRevision(entry).contentHash, dropboxHash(Buffer.from(c)), `${p}: same content_hash`);
    t.equal(entry.pathDisplay, `${job.destination.path}${p}`, `${p}: same name and case`);
  }
  t.equal(fx.emu.state.getEntry(fx.member, `${job.destination.path}/Empty folder`)?.kind, 'folder', 'empty folders are recreated');
  // The originals are untouched.
  t.equal(fx.emu.state.readFile(fx.member, '/Docs/a.txt').toString(), 'hello');
  // One batch: start_batch + append_batch (small files) + 2 × append_v2 (5 MiB in 4 MiB chunks) + finish_batch_v2.
  const spent = fx.emu.counters.dataTransportThisMonth() - before;
  t.equal(spent, 5);
  t.equal(job.data_transport_calls, 5);
  const task = (await fx.get(`/v1/tasks/${fx.taskId}`)).body;
  t.equal(task.data_transport.calls, 5, 'the task counts the month\'s data-transport calls (this was the first restore)');
  t.equal(task.data_transport.month, new Date().toISOString().slice(0, 7));

  // The job's log is its system-activity events.
  const events = await fx.app.deps.sql<{ status: string; type: string }[]>`select status, type from activity_events where job_id = ${job.id} order by id`;
  t.same(events.map((e) => `${e.type}:${e.status}`), ['restore:in_progress', 'restore:succeeded']);
});

t.test('in place never overwrites: a changed file gets the restored copy beside it, identical ones are untouched, deleted ones come back', async (t) => {
  const { member, runId } = await memberWith({ '/same.txt': 'same', '/changed.txt': 'old text', '/gone.txt': 'gone', '/Sub/x.txt': 'x' });
  fx.emu.state.putFile(member, '/changed.txt', 'new text');
  fx.emu.state.delete(member, '/gone.txt');
  const sameRevs = fx.emu.state.getEntry(member, '/same.txt')!.revisions.length;
  const res = await fx.post('/v1/restores', { source: { snapshot_id: runId }, destination: { mode: 'in_place' } });
  t.equal(res.status, 202);
  t.equal(await runRestoreJob(fx.app.deps, res.body.id), 'succeeded');
  t.equal(fx.emu.state.readFile(member, '/changed.txt').toString(), 'new text', 'the current file is not overwritten');
  t.equal(fx.emu.state.readFile(member, '/changed (1).txt').toString(), 'old text', 'the restored copy sits beside it');
  t.equal(fx.emu.state.readFile(member, '/gone.txt').toString(), 'gone');
  t.equal(fx.emu.state.getEntry(member, '/same.txt')!.revisions.length, sameRevs, 'identical content: nothing written');
  t.notOk(fx.emu.state.getEntry(member, '/same (1).txt'), 'no copy of an identical file');
  const all = [...fx.filesUnder(member.homeNsId, '').keys()].sort();
  t.same(all, ['/changed (1).txt', '/changed.txt', '/gone.txt', '/same.txt', '/sub/x.txt']);
  const job = (await fx.get(`/v1/jobs/${res.body.id}`)).body;
  t.equal(job.items_done, 4);
  t.equal(job.destination.path, undefined, 'in place: the original folders');
});

t.test('other account: another member of the team receives the chosen items', async (t) => {
  const carol = fx.emu.state.addMember({ email: 'carol@coffer-emu.test', givenName: 'Carol', surname: 'C' });
  const carolEntity = await fx.memberEntity(carol);
  const items = (await fx.app.deps.sql<{ id: string }[]>`select id from item_versions where entity_id = ${fx.entityId} and path_lower = '/docs'`).map((r) => r.id);
  const res = await fx.post('/v1/restores', {
    source: { snapshot_id: fx.runId, items: [...items, '/Fotos/Ünïcødé 日本/naïve café.txt'] },
    destination: { mode: 'other_account', entity_id: carolEntity, path: '/From Bob' },
  });
  t.equal(res.status, 202, res.text);
  t.equal(res.body.items_total, 4, 'a folder is taken recursively');
  t.equal(await runRestoreJob(fx.app.deps, res.body.id, LARGE), 'succeeded');
  const got = fx.filesUnder(carol.homeNsId, '/from bob');
  t.same([...got.keys()].sort(), ['/docs/a.txt', '/docs/deep/b.md', '/docs/empty.txt', '/fotos/ünïcødé 日本/naïve café.txt']);
  t.equal(got.get('/docs/deep/b.md')!.toString(), '# b');
  t.notOk(fx.emu.state.getEntry(fx.member, '/From Bob'), 'nothing in the source account');

  // Validation: a destination must be another member of the same task.
  const self = await fx.post('/v1/restores', { source: { snapshot_id: fx.runId }, destination: { mode: 'other_account', entity_id: fx.entityId } });
  t.equal(self.status, 400);
  const none = await fx.post('/v1/restores', { source: { snapshot_id: fx.runId }, destination: { mode: 'other_account' } });
  t.equal(none.status, 400);
  t.equal(none.body.errors[0].pointer, '/body/destination/entity_id');
  const bad = await fx.post('/v1/restores', { source: { snapshot_id: fx.runId, items: ['item_00000000000000000000000000'] }, destination: { mode: 'in_place' } });
  t.equal(bad.status, 400);
  const extra = await fx.post('/v1/restores', { source: { snapshot_id: fx.runId }, destination: { mode: 'in_place', overwrite: true } });
  t.equal(extra.status, 400, 'the body shape is exact');
});

t.test('team folders restore as the admin into the team folder\'s namespace', async (t) => {
  const folder = fx.emu.state.addTeamFolder('Team Docs');
  fx.emu.state.putFile(folder.id, '/Plans/plan.txt', 'the plan');
  const entityId = await fx.teamFolderEntity(folder);
  const b = await fx.backup(entityId);
  if (b.outcome !== 'succeeded') throw new Error('backup');
  fx.emu.state.delete(folder.id, '/Plans/plan.txt');
  const res = await fx.post('/v1/restores', { source: { snapshot_id: b.runId }, destination: { mode: 'in_place' } });
  t.equal(await runRestoreJob(fx.app.deps, res.body.id), 'succeeded');
  t.equal(fx.emu.state.readFile(folder.id, '/Plans/plan.txt').toString(), 'the plan');
  t.notOk(fx.emu.state.getEntry(fx.member, '/Plans'), 'nothing landed in a member\'s home');
});

t.test('1,000 files of 10 KB cost at most 10 data-transport calls; the monthly limit stops the job as partially succeeded, and it resumes', async (t) => {
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < 1000; i++) files[`/Many/f${String(i).padStart(4, '0')}.dat`] = Buffer.alloc(10 * 1024, i % 251);
  const many = await memberWith(files);
  const before = fx.emu.counters.dataTransportThisMonth();
  const first = await fx.post('/v1/restores', { source: { snapshot_id: many.runId }, destination: { mode: 'non_destructive', path: '/All' } });
  t.equal(await runRestoreJob(fx.app.deps, first.body.id), 'succeeded');
  const spent = fx.emu.counters.dataTransportThisMonth() - before;
  t.ok(spent <= 10, `1,000 × 10 KB restored with ${spent} data-transport calls`);
  t.ok(spent >= 3, 'start_batch + append_batch(es) + finish_batch_v2');
  t.equal(fx.filesUnder(many.member.homeNsId, '/all').size, 1000);

  // Limit: allow 4 more calls this month; batches of 100 files cost 3 calls each → one batch, then 403.
  fx.emu.faults.dataTransportLimit = fx.emu.counters.dataTransportThisMonth() + 4;
  const second = await fx.post('/v1/restores', { source: { snapshot_id: many.runId }, destination: { mode: 'non_destructive', path: '/Limited' } });
  t.equal(await runRestoreJob(fx.app.deps, second.body.id, { batchFiles: 100 }), 'partially_succeeded');
  let job = (await fx.get(`/v1/jobs/${second.body.id}`)).body;
  t.equal(job.state, 'partially_succeeded');
  t.equal(job.items_done, 100);
  t.match(job.reason, /data-transport limit/);
  t.match(job.reason, /Resume the job/);
  t.equal(job.resumable, true);
  t.equal(fx.filesUnder(many.member.homeNsId, '/limited').size, 100, 'only committed batches exist in Dropbox');
  const events = await fx.app.deps.sql<{ status: string }[]>`select status from activity_events where job_id = ${job.id} order by id`;
  t.equal(events.at(-1)!.status, 'partially_succeeded');

  // The month turns (limit lifted): resume continues after the last committed batch.
  fx.emu.faults.dataTransportLimit = undefined as never;
  const resumed = await fx.post(`/v1/jobs/${job.id}/resume`, {});
  t.equal(resumed.status, 202, resumed.text);
  t.equal(resumed.body.state, 'pending');
  t.equal(await runRestoreJob(fx.app.deps, job.id, { batchFiles: 100 }), 'succeeded');
  job = (await fx.get(`/v1/jobs/${job.id}`)).body;
  t.equal(job.items_done, 1000);
  const limited = fx.filesUnder(many.member.homeNsId, '/limited');
  t.equal(limited.size, 1000, 'every file exactly once (no duplicates from the resume)');
  t.ok(limited.get('/many/f0999.dat')!.equals(files['/Many/f0999.dat']!));
  const again = await fx.post(`/v1/jobs/${job.id}/resume`, {});
  t.equal(again.status, 409, 'a succeeded job is not resumable');
});

t.test('a worker killed mid-job resumes from its last committed batch; cancel stops between batches and reports what was written', async (t) => {
  const set = { snapshot_id: fx.runId, items: ['/set'] };
  const crash = await fx.post('/v1/restores', { source: set, destination: { mode: 'non_destructive', path: '/Crash' } });
  await t.rejects(runRestoreJob(fx.app.deps, crash.body.id, { batchFiles: 10, afterBatch: ({ batch }) => { if (batch === 2) throw new Error('worker killed'); } }), /worker killed/);
  let job = (await fx.get(`/v1/jobs/${crash.body.id}`)).body;
  t.equal(job.state, 'in_progress', 'a dead worker leaves the job in progress (pg-boss retries it)');
  t.equal(job.items_done, 20);
  t.equal(await runRestoreJob(fx.app.deps, crash.body.id, { batchFiles: 10 }), 'succeeded');
  job = (await fx.get(`/v1/jobs/${crash.body.id}`)).body;
  t.equal(job.items_done, 50);
  t.equal(fx.filesUnder(fx.member.homeNsId, '/crash').size, 50, 'no file twice, none missing');
  t.equal(fx.filesUnder(fx.member.homeNsId, '/crash/set').size, 50);
  const rows = await fx.app.deps.sql<{ attempts: number }[]>`select attempts from jobs where id = ${job.id}`;
  t.equal(rows[0]!.attempts, 2);

  const cancel = await fx.post('/v1/restores', { source: set, destination: { mode: 'non_destructive', path: '/Cancel' } });
  const outcome = await runRestoreJob(fx.app.deps, cancel.body.id, {
    batchFiles: 10,
    afterBatch: async ({ batch }) => {
      if (batch === 1) t.equal((await fx.post(`/v1/jobs/${cancel.body.id}/cancel`, {})).status, 200);
    },
  });
  t.equal(outcome, 'canceled');
  job = (await fx.get(`/v1/jobs/${cancel.body.id}`)).body;
  t.equal(job.state, 'canceled');
  t.equal(job.items_done, 10);
  t.match(job.reason, /Canceled after 10 of 50 files were restored into \/Cancel/);
  t.equal(fx.filesUnder(fx.member.homeNsId, '/cancel').size, 10, 'exactly what the job reports was written');
  t.equal((await fx.post(`/v1/jobs/${cancel.body.id}/cancel`, {})).status, 409, 'a finished job cannot be canceled');

  // A pending job is canceled at once and never runs.
  const pending = await fx.post('/v1/restores', { source: set, destination: { mode: 'in_place' } });
  const c = await fx.post(`/v1/jobs/${pending.body.id}/cancel`, {});
  t.equal(c.body.state, 'canceled');
  t.equal(await runRestoreJob(fx.app.deps, pending.body.id), 'skipped');
});

t.test('bytes corrupted on the way up: Dropbox commits them, the content_hash check fails those files and the job is partially succeeded', async (t) => {
  const big = Buffer.alloc(2 * MiB, 9);
  const { member, runId } = await memberWith({ '/bad.txt': 'bytes flipped in transit', '/good.txt': 'arrives intact', '/large.bin': big });
  // The first byte of every append body is flipped: in append_batch that is /bad.txt (the first
  // file in path order; /good.txt follows it in the same body), in append_v2 the large file's first chunk.
  const corrupting = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = requestUrl(input);
    if ((url.endsWith('/2/files/upload_session/append_batch') || url.endsWith('/2/files/upload_session/append_v2')) && init?.body) {
      const body = Buffer.from(init.body as Uint8Array);
      body[0] = body[0]! ^ 0xff;
      return fetch(input, { ...init, body });
    }
    return fetch(input, init);
  };
  const [task] = await fx.app.deps.sql<{ refresh_token: string }[]>`select refresh_token from tasks where id = ${fx.taskId}`;
  const client = new DropboxTeam({
    config: fx.app.deps.config.dropbox,
    refreshToken: fx.app.deps.keyring.openSecret(task!.refresh_token, REFRESH_TOKEN_CONTEXT),
    fetch: corrupting,
  });
  const res = await fx.post('/v1/restores', { source: { snapshot_id: runId }, destination: { mode: 'non_destructive', path: '/Corrupted' } });
  t.equal(res.status, 202, res.text);
  t.equal(await runRestoreJob(fx.app.deps, res.body.id, { ...LARGE, client }), 'partially_succeeded');
  t.ok((client.calls.get('files/upload_session/append_v2') ?? 0) >= 1, 'the large file went through append_v2');

  const job = (await fx.get(`/v1/jobs/${res.body.id}`)).body;
  t.equal(job.state, 'partially_succeeded');
  t.equal(job.items_done, 1);
  t.equal(job.items_failed, 2);
  t.equal(job.bytes_done, Buffer.byteLength('arrives intact'));
  t.match(job.reason, /^2 of 3 files could not be restored into \/Corrupted; see errors\.$/);
  const errors = new Map(job.errors.map((e: { path: string; error: string }) => [e.path, e.error]));
  t.same([...errors.keys()].sort(), ['/bad.txt', '/large.bin'], 'exactly the corrupted files are reported');
  const flipped = (b: Buffer) => Buffer.concat([Buffer.from([b[0]! ^ 0xff]), b.subarray(1)]);
  t.equal(errors.get('/bad.txt'), `content_hash after upload is ${dropboxHash(flipped(Buffer.from('bytes flipped in transit')))}, expected ${dropboxHash(Buffer.from('bytes flipped in transit'))}`);
  t.equal(errors.get('/large.bin'), `content_hash after upload is ${dropboxHash(flipped(big))}, expected ${dropboxHash(big)}`);
  t.equal(fx.emu.state.readFile(member, '/Corrupted/good.txt').toString(), 'arrives intact');
});

t.test('tenant isolation and permissions', async (t) => {
  const other = await fx.app.signUp();
  const res = await fx.post('/v1/restores', { source: { snapshot_id: fx.runId }, destination: { mode: 'in_place' } });
  t.equal((await fx.post('/v1/restores', { source: { snapshot_id: fx.runId }, destination: { mode: 'in_place' } }, other.key)).status, 404, 'another account cannot restore this snapshot');
  t.equal((await fx.get(`/v1/jobs/${res.body.id}`, other.key)).status, 404);
  t.equal((await fx.post(`/v1/jobs/${res.body.id}/cancel`, {}, other.key)).status, 404);
  t.equal((await fx.post(`/v1/jobs/${res.body.id}/resume`, {}, other.key)).status, 404);
  t.same((await fx.get('/v1/jobs', other.key)).body.data, []);
  t.equal((await fx.app.request('POST', '/v1/restores', { body: { source: { snapshot_id: fx.runId }, destination: { mode: 'in_place' } } })).status, 401);
});
