// Backups under Dropbox faults: 429 bursts (JSON and text, Retry-After), 5xx, connection resets,
// truncated downloads and expired tokens still end in a correct snapshot; a file that keeps failing
// (or whose bytes do not match its content_hash) makes the run partial with that item's error and
// is retried by the next run; a revoked refresh token disconnects the task and fails the run.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { startBackupFixture } from '../../helpers/backup-fixture.ts';
import { requestUrl } from '../../../workers/dropbox/transport.ts';

const MiB = 1024 * 1024;

/** A fetch that misbehaves for downloads of one revision. */
function sabotage(rev: string, mode: '500' | 'corrupt') {
  return async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = requestUrl(input);
    const arg = (init?.headers as Record<string, string> | undefined)?.['dropbox-api-arg'];
    if (url.endsWith('/2/files/download') && arg?.includes(rev)) {
      if (mode === '500') return new Response('Internal Server Error', { status: 500 });
      const res = await fetch(input, init);
      const bytes = Buffer.from(await res.arrayBuffer());
      bytes[0] = bytes[0]! ^ 0xff;
      return new Response(bytes, { status: 200, headers: res.headers });
    }
    return fetch(input, init);
  };
}

t.test('transient faults end in a correct snapshot', async (t) => {
  const f = await startBackupFixture(t);
  const s = f.emu.state;
  const bob = s.addMember({ email: 'bob@coffer-emu.test' });
  for (let i = 0; i < 30; i++) s.putFile(bob, `/f/${i}.txt`, `file ${i}\n`.repeat(i + 1));
  s.putFile(bob, '/big.bin', randomBytes(9 * MiB));
  const entityId = await f.memberEntity(bob);

  const faults = f.emu.faults;
  faults.add({ route: 'files/list_folder', kind: '429-json', times: 2, retryAfter: 1 });
  faults.add({ route: 'files/list_folder/continue', kind: '429-text', times: 2, retryAfter: 1 });
  faults.add({ route: 'files/list_folder/continue', kind: '503', times: 1 });
  faults.add({ route: 'files/list_folder/continue', kind: 'reset', times: 1 });
  faults.add({ route: 'files/download', kind: 'truncate', times: 3 });
  faults.add({ route: 'files/download', kind: '429-json', times: 3, retryAfter: 1 });
  faults.add({ route: 'files/download', kind: '500', times: 2 });
  faults.add({ route: 'files/download', kind: 'reset', times: 2 });
  faults.add({ route: 'files/download', kind: 'expired-token', times: 1 });
  const r = await f.backup(entityId, { pageLimit: 8, concurrency: 3 });
  t.equal(r.outcome, 'succeeded');
  if (r.outcome !== 'succeeded') return;
  t.equal(faults.rules.length, 0, 'every injected fault was hit');
  await f.assertSnapshot(t, entityId, r.runId, f.dropboxState(bob.homeNsId), 'faulty first run');

  // Incremental run under faults too.
  s.putFile(bob, '/f/3.txt', 'changed');
  s.putFile(bob, '/big.bin', randomBytes(5 * MiB));
  faults.add({ route: 'files/list_folder/continue', kind: '500', times: 2 });
  faults.add({ route: 'files/download', kind: 'truncate', times: 2 });
  const r2 = await f.backup(entityId);
  t.equal(r2.outcome, 'succeeded');
  if (r2.outcome === 'succeeded') await f.assertSnapshot(t, entityId, r2.runId, f.dropboxState(bob.homeNsId), 'faulty incremental run');
});

t.test('a file that keeps failing makes the run partial, and the next run retries it', async (t) => {
  const f = await startBackupFixture(t);
  const s = f.emu.state;
  const bob = s.addMember({ email: 'bob@coffer-emu.test' });
  s.putFile(bob, '/ok.txt', 'fine');
  const bad = s.putFile(bob, '/cursed.txt', 'always fails');
  const corrupt = s.putFile(bob, '/corrupt.txt', 'bytes flipped in transit');
  const entityId = await f.memberEntity(bob);
  const rev = bad.revisions[0]!.rev;

  const failing = sabotage(rev, '500');
  const corrupting = sabotage(corrupt.revisions[0]!.rev, 'corrupt');
  const r = await f.backup(entityId, { fetch: (i, init) => (String((init?.headers as Record<string, string>)?.['dropbox-api-arg']).includes(rev) ? failing(i, init) : corrupting(i, init)) });
  t.equal(r.outcome, 'partial');
  if (r.outcome !== 'partial') return;
  t.equal(r.counts.failed, 2);
  const [run] = await f.app.deps.sql<{ state: string; errors: { path: string; error: string }[] }[]>`select state, errors from backup_runs where id = ${r.runId}`;
  t.equal(run!.state, 'partial');
  const byPath = new Map(run!.errors.map((e) => [e.path, e.error]));
  t.match(byPath.get('/cursed.txt'), /failed after 6 attempts/);
  t.match(byPath.get('/corrupt.txt'), /content_hash mismatch/);
  const snap = await f.snapshot(entityId, r.runId);
  t.same([...snap.keys()].sort(), ['/ok.txt'], 'failed items are not in the snapshot; nothing unverified is stored');
  const [entity] = await f.app.deps.sql<{ status: string }[]>`select status from entities where id = ${entityId}`;
  t.equal(entity!.status, 'partial');
  const [event] = await f.app.deps.sql<{ status: string }[]>`select status from activity_events where entity_id = ${entityId}`;
  t.equal(event!.status, 'partially_succeeded');

  // Dropbox behaves again: the next (incremental) run picks the failed items up.
  f.emu.counters.reset();
  const r2 = await f.backup(entityId);
  t.equal(r2.outcome, 'succeeded');
  if (r2.outcome === 'succeeded') await f.assertSnapshot(t, entityId, r2.runId, f.dropboxState(bob.homeNsId), 'retry run');
  t.equal(f.emu.counters.routes['files/download'], 2, 'only the two failed files were downloaded');
});

t.test('a revoked refresh token disconnects the task and fails the run', async (t) => {
  const f = await startBackupFixture(t);
  const s = f.emu.state;
  const bob = s.addMember({ email: 'bob@coffer-emu.test' });
  s.putFile(bob, '/a.txt', 'a');
  const entityId = await f.memberEntity(bob);
  const first = await f.backup(entityId);
  t.equal(first.outcome, 'succeeded');

  s.putFile(bob, '/b.txt', 'b');
  s.revokeRefreshTokens({ accessTokensToo: true });
  const r = await f.backup(entityId);
  t.equal(r.outcome, 'failed');
  if (r.outcome !== 'failed') return;
  t.match(r.error, /invalid_grant/);
  const [task] = await f.app.deps.sql<{ connection_status: string; connection_error: string }[]>`select connection_status, connection_error from tasks where id = ${f.taskId}`;
  t.equal(task!.connection_status, 'disconnected');
  t.match(task!.connection_error, /invalid_grant/);
  const [run] = await f.app.deps.sql<{ state: string }[]>`select state from backup_runs where id = ${r.runId}`;
  t.equal(run!.state, 'failed');
  const [entity] = await f.app.deps.sql<{ status: string }[]>`select status from entities where id = ${entityId}`;
  t.equal(entity!.status, 'failed');
  const events = await f.app.deps.sql<{ status: string }[]>`select status from activity_events where entity_id = ${entityId} order by id`;
  t.same(events.map((e) => e.status), ['succeeded', 'failed']);
  if (first.outcome === 'succeeded') {
    const snap = await f.snapshot(entityId, first.runId);
    t.same([...snap.keys()], ['/a.txt'], 'the earlier snapshot is intact');
  }
  const [{ n }] = await f.app.deps.sql<{ n: number }[]>`select count(*)::int as n from item_versions where valid_from_run = ${r.runId}`;
  t.equal(n, 0, 'the failed run left no versions');
  const again = await f.backup(entityId);
  t.same(again, { outcome: 'skipped', reason: 'task not connected' }, 'a disconnected task is not backed up');
});
