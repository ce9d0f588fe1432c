// The run history API over real backups: every run is listed (succeeded, partial and failed ones,
// newest first) with its counts, bytes, duration, Dropbox calls and errors; filters by state; the
// per-day history counts failed backups; another account sees none of it.
import t from 'tap';
import { requestUrl } from '../../../workers/dropbox/transport.ts';
import { startBackupFixture } from '../../helpers/backup-fixture.ts';

/** Corrupts the download of one revision, so the run ends partial with a content_hash error. */
function corrupting(rev: string) {
  return async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const arg = (init?.headers as Record<string, string> | undefined)?.['dropbox-api-arg'];
    const res = await fetch(input, init);
    if (!requestUrl(input).endsWith('/2/files/download') || !arg?.includes(rev)) return res;
    const bytes = Buffer.from(await res.arrayBuffer());
    bytes[0] = bytes[0]! ^ 0xff;
    return new Response(bytes, { status: 200, headers: res.headers });
  };
}

t.test('every backup run is listed, failed and partial ones included', async (t) => {
  const f = await startBackupFixture(t);
  const { app } = f;
  const key = f.account.key;
  const s = f.emu.state;
  const bob = s.addMember({ email: 'bob@coffer-emu.test' });
  s.putFile(bob, '/a.txt', 'a');
  s.putFile(bob, '/docs/b.txt', 'b');
  const entityId = await f.memberEntity(bob);
  app.clock.set(new Date('2026-05-01T03:00:00Z'));

  const ok = await f.backup(entityId);
  if (ok.outcome !== 'succeeded') throw new Error('first backup failed');

  app.clock.set(new Date('2026-05-02T03:00:00Z'));
  const bad = s.putFile(bob, '/bad.txt', 'flipped in transit');
  const partial = await f.backup(entityId, { fetch: corrupting(bad.revisions[0]!.rev) });
  if (partial.outcome !== 'partial') throw new Error(`expected partial, got ${partial.outcome}`);

  app.clock.set(new Date('2026-05-02T09:00:00Z'));
  s.putFile(bob, '/c.txt', 'c');
  s.revokeRefreshTokens({ accessTokensToo: true });
  const failed = await f.backup(entityId);
  if (failed.outcome !== 'failed') throw new Error(`expected failed, got ${failed.outcome}`);

  const list = await app.request('GET', `/v1/entities/${entityId}/runs`, { key });
  t.equal(list.status, 200);
  t.same(list.body.data.map((r: { state: string }) => r.state), ['failed', 'partial', 'succeeded'], 'newest first, every outcome');
  const [f3, p2, s1] = list.body.data;
  t.match(s1, {
    id: ok.runId, entity_id: entityId, task_id: f.taskId, state: 'succeeded', reason: 'manual', mode: 'full',
    started_at: '2026-05-01T03:00:00.000Z', total_items: 3, size_bytes: 2, error: null, errors: [],
    counts: { new: 3, changed: 0, deleted: 0, failed: 0 },
  });
  t.ok(s1.dropbox_calls > 0, 'Dropbox calls are counted');
  t.type(s1.duration_ms, 'number');
  t.match(p2, { id: partial.runId, state: 'partial', mode: 'incremental', counts: { failed: 1 }, total_items: 3 });
  t.equal(p2.errors.length, 1);
  t.match(p2.errors[0], { path: '/bad.txt', error: /content_hash mismatch/ });
  t.match(f3, { id: failed.runId, state: 'failed', error: /invalid_grant/, total_items: null, size_bytes: null });
  t.not(f3.finished_at, null);

  const onlyBad = await app.request('GET', `/v1/entities/${entityId}/runs?state=failed,partial`, { key });
  t.same(onlyBad.body.data.map((r: { id: string }) => r.id), [failed.runId, partial.runId], 'state filter, several at once');
  const badState = await app.request('GET', `/v1/entities/${entityId}/runs?state=exploded`, { key });
  t.equal(badState.status, 400);
  const day2 = await app.request('GET', `/v1/entities/${entityId}/runs?from=2026-05-02T00:00:00Z&to=2026-05-02T06:00:00Z`, { key });
  t.same(day2.body.data.map((r: { id: string }) => r.id), [partial.runId], 'time window');
  const paged = await app.request('GET', `/v1/entities/${entityId}/runs?limit=2`, { key });
  t.equal(paged.body.data.length, 2);
  const rest = await app.request('GET', `/v1/entities/${entityId}/runs?limit=2&cursor=${paged.body.next_cursor}`, { key });
  t.same(rest.body.data.map((r: { id: string }) => r.id), [ok.runId]);
  t.equal(rest.body.next_cursor, null);

  const one = await app.request('GET', `/v1/runs/${failed.runId}`, { key });
  t.equal(one.status, 200);
  t.same(one.body, f3, 'the run alone is the same as in the list');

  // The per-day history counts the failure beside the completed backups.
  const hist = await app.request('GET', `/v1/entities/${entityId}/history?from=2026-04-30T00:00:00Z&to=2026-05-03T00:00:00Z`, { key });
  t.equal(hist.status, 200);
  t.same(hist.body.days.map((d: { date: string; backups: number; failed_backups: number }) => [d.date, d.backups, d.failed_backups]), [
    ['2026-04-30', 0, 0], ['2026-05-01', 1, 0], ['2026-05-02', 1, 1],
  ]);
  t.match(hist.body.summary, { snapshots: 2, failed_backups: 1, last_outcome: 'failed' });

  // Tenant isolation.
  const other = await app.signUp();
  for (const path of [`/v1/entities/${entityId}/runs`, `/v1/runs/${failed.runId}`, `/v1/runs/${ok.runId}`]) {
    t.equal((await app.request('GET', path, { key: other.key })).status, 404, `other account: ${path} → 404`);
  }
  t.equal((await app.request('GET', '/v1/runs/run_00000000000000000000000000', { key })).status, 404);
});
