// Retention: versions no kept snapshot needs are dropped, then the sweep removes exactly the
// blocks, contents and packs nothing references (repacking mostly-garbage packs); every kept
// snapshot still reads back byte for byte. purgeEntityData erases one entity and what only it used.
import { createHash, randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import { startBackupFixture, type ExpectedItem } from '../../helpers/backup-fixture.ts';
import { applyRetention, purgeEntityData, retentionJob, sweepAccount } from '../../../workers/jobs/retention.ts';
import { accountStorage } from '../../../workers/backup/storage.ts';
import type { BackupFixture } from '../../helpers/backup-fixture.ts';

const DAY = 86_400_000;

/** Blocks referenced by some version, blocks stored, pack objects and pack rows. */
async function inventory(f: BackupFixture) {
  const sql = f.app.deps.sql;
  const referenced = new Set<string>();
  for (const r of await sql<{ blocks: Buffer | null }[]>`select blocks from item_versions where account_id = ${f.accountId}`) {
    const b = r.blocks ?? Buffer.alloc(0);
    for (let i = 0; i < b.length; i += 32) referenced.add(b.subarray(i, i + 32).toString('hex'));
  }
  const stored = new Set((await sql<{ hex: string }[]>`select encode(hash, 'hex') as hex from blocks where account_id = ${f.accountId}`).map((r) => r.hex));
  const packRows = new Set((await sql<{ key: string }[]>`select key from packs where account_id = ${f.accountId}`).map((r) => r.key));
  const { store } = await accountStorage(f.app.deps, f.accountId);
  const objects = new Set<string>();
  for await (const o of store.list('packs/')) objects.add(o.key);
  return { referenced, stored, packRows, objects };
}

async function assertClean(t: Test, f: BackupFixture, label: string) {
  const inv = await inventory(f);
  t.same([...inv.referenced].filter((h) => !inv.stored.has(h)), [], `${label}: nothing referenced was deleted`);
  t.same([...inv.stored].filter((h) => !inv.referenced.has(h)), [], `${label}: nothing unreferenced survives`);
  t.same([...inv.objects].sort(), [...inv.packRows].sort(), `${label}: pack objects = pack rows`);
}

t.test('retention keeps what the window needs and removes the rest', async (t) => {
  const f = await startBackupFixture(t);
  const { clock } = f.app;
  const s = f.emu.state;
  const bob = s.addMember({ email: 'bob@coffer-emu.test' });
  s.putFile(bob, '/stable.bin', randomBytes(300_000));
  s.putFile(bob, '/churn.bin', randomBytes(300_000));
  for (let i = 0; i < 20; i++) s.putFile(bob, `/small/${i}.txt`, `small ${i} `.repeat(100));
  const entityId = await f.memberEntity(bob);
  const snapshots: { runId: string; expected: Map<string, ExpectedItem>; at: number }[] = [];
  const backup = async () => {
    const r = await f.backup(entityId, { targetPackSize: 256 * 1024 });
    if (r.outcome !== 'succeeded') throw new Error('backup failed');
    snapshots.push({ runId: r.runId, expected: f.dropboxState(bob.homeNsId), at: clock.now().getTime() });
  };
  await backup(); // day 0
  for (let day = 1; day <= 4; day++) {
    clock.advance(DAY);
    s.putFile(bob, '/churn.bin', randomBytes(300_000));
    s.delete(bob, `/small/${day}.txt`);
    await backup();
  }
  await assertClean(t, f, 'before retention');

  // Keep 2 days: snapshots of day 3 and 4 stay (and day 2's state is gone).
  await f.app.deps.db.execute(`update tasks set retention = '{"unit":"days","value":2}'::jsonb where id = '${f.taskId}'` as never);
  const result = await retentionJob(f.app.deps);
  t.ok(result.versionsDeleted > 0, `old versions deleted (${result.versionsDeleted})`);
  t.equal(result.runsDeleted, 2, 'snapshots of day 0 and 1 are gone');
  const sweep = result.sweeps[f.accountId]!;
  t.equal(sweep.mode, 'exclusive', 'no backup running: collected at once');
  t.ok(sweep.blocksDeleted > 0 && sweep.contentsDeleted > 0);
  t.ok(sweep.packsDeleted + sweep.packsRewritten > 0, `packs deleted ${sweep.packsDeleted}, rewritten ${sweep.packsRewritten}`);
  const kept = await f.app.deps.sql<{ id: string }[]>`select id from backup_runs where entity_id = ${entityId} order by id`;
  t.same(kept.map((r) => r.id), snapshots.slice(2).map((x) => x.runId));
  for (const snap of snapshots.slice(2)) await f.assertSnapshot(t, entityId, snap.runId, snap.expected, `kept snapshot ${snap.runId}`);
  await assertClean(t, f, 'after retention');

  // An entity that has not backed up for long keeps its newest snapshot whatever the window.
  clock.advance(30 * DAY);
  await applyRetention(f.app.deps.sql, entityId, clock.now());
  const left = await f.app.deps.sql<{ id: string }[]>`select id from backup_runs where entity_id = ${entityId}`;
  t.same(left.map((r) => r.id), [snapshots[4]!.runId], 'the newest snapshot always stays');
  await sweepAccount(f.app.deps, f.accountId);
  await f.assertSnapshot(t, entityId, snapshots[4]!.runId, snapshots[4]!.expected, 'newest snapshot after a long gap');
  await assertClean(t, f, 'after the long gap');
});

t.test('purgeEntityData erases one entity and keeps what others share', async (t) => {
  const f = await startBackupFixture(t);
  const s = f.emu.state;
  const shared = randomBytes(100_000);
  const bob = s.addMember({ email: 'bob@coffer-emu.test' });
  const eve = s.addMember({ email: 'eve@coffer-emu.test' });
  s.putFile(bob, '/shared.bin', shared);
  s.putFile(bob, '/bob-only.bin', randomBytes(100_000));
  s.putFile(eve, '/shared copy.bin', shared);
  const bobId = await f.memberEntity(bob);
  const eveId = await f.memberEntity(eve);
  await f.backup(bobId);
  const eveRun = await f.backup(eveId);
  if (eveRun.outcome !== 'succeeded') throw new Error('backup failed');

  // Beside a running backup (which holds the account's lock shared) a sweep deletes nothing at once.
  const conn = await f.app.deps.sql.reserve();
  await conn`select pg_advisory_lock_shared(hashtextextended(${`account:${f.accountId}`}, 0))`;
  const beside = await sweepAccount(f.app.deps, f.accountId);
  t.equal(beside.mode, 'concurrent');
  t.equal(beside.blocksDeleted + beside.contentsDeleted + beside.packsDeleted, 0, 'nothing deleted beside a running backup');
  await conn`select pg_advisory_unlock_shared(hashtextextended(${`account:${f.accountId}`}, 0))`;
  conn.release();

  const res = await purgeEntityData(f.app.deps, f.accountId, bobId);
  t.ok(res.versionsDeleted >= 2);
  t.equal(res.runsDeleted, 1);
  const [{ n }] = await f.app.deps.sql<{ n: number }[]>`select count(*)::int as n from item_versions where entity_id = ${bobId}`;
  t.equal(n, 0);
  await f.assertSnapshot(t, eveId, eveRun.runId, f.dropboxState(eve.homeNsId), 'eve after bob was purged');
  await assertClean(t, f, 'after purge');
});

t.test('an account that is always backing up is still collected; a condemned block stored again is revived', async (t) => {
  const f = await startBackupFixture(t);
  const { clock } = f.app;
  const sql = f.app.deps.sql;
  const s = f.emu.state;
  const kept = randomBytes(200_000);
  const bob = s.addMember({ email: 'bob@coffer-emu.test' });
  const eve = s.addMember({ email: 'eve@coffer-emu.test' });
  const carol = s.addMember({ email: 'carol@coffer-emu.test' });
  const carolId = await f.memberEntity(carol); // whose backups are always running
  s.putFile(bob, '/comes-back.bin', kept);
  s.putFile(bob, '/gone.bin', randomBytes(200_000));
  s.putFile(eve, '/eve.txt', 'eve');
  const bobId = await f.memberEntity(bob);
  const eveId = await f.memberEntity(eve);
  await f.backup(bobId);
  await f.backup(eveId);
  await purgeEntityData(f.app.deps, f.accountId, bobId, { sweep: false }); // all of bob's blocks: garbage

  // From here on some backup of the account is always running: its lock is held, and a run row says since when.
  const conn = await sql.reserve();
  t.teardown(() => conn.release());
  await conn`select pg_advisory_lock_shared(hashtextextended(${`account:${f.accountId}`}, 0))`;
  const running = async () => {
    await sql`update backup_runs set state = 'succeeded' where account_id = ${f.accountId} and state = 'running'`;
    await sql`insert into backup_runs (id, account_id, task_id, entity_id, state, reason, mode, started_at, errors)
      values (${`run_${clock.now().getTime()}_x`}, ${f.accountId}, ${f.taskId}, ${carolId}, 'running', 'scheduled', 'incremental', ${clock.now().toISOString()}, '[]'::jsonb)`;
  };
  await running();

  const first = await sweepAccount(f.app.deps, f.accountId);
  t.equal(first.mode, 'concurrent');
  t.equal(first.condemned, 4, "bob's two contents and the two blocks only they hold are condemned");
  t.equal(first.blocksDeleted, 0, 'condemned, not deleted');

  // One of bob's files turns up in eve's folder: the backup does not reuse the condemned block, it
  // stores it again and so revives the row.
  s.putFile(eve, '/from-bob.bin', kept);
  const eveRun = await f.backup(eveId);
  if (eveRun.outcome !== 'succeeded') throw new Error('backup failed');
  const [revived] = await sql<{ condemned: boolean }[]>`
    select condemned_at is not null as condemned from blocks where account_id = ${f.accountId} and hash = ${createHash('sha256').update(kept).digest()}`;
  t.equal(revived?.condemned, false, 'the block stored again is no longer condemned');

  clock.advance(DAY);
  const second = await sweepAccount(f.app.deps, f.accountId);
  t.same([second.contentsDeleted, second.blocksDeleted], [0, 0], 'a backup that began before the condemnation still runs: nothing deleted');

  await running(); // that backup ended; a new one (begun after the condemnation) runs
  clock.advance(DAY);
  const third = await sweepAccount(f.app.deps, f.accountId);
  t.equal(third.mode, 'concurrent');
  t.same([third.contentsDeleted, third.blocksDeleted], [1, 1], "collected while a backup runs: gone.bin's content and block");
  t.ok(third.packsDeleted >= 1, 'the pack holding only garbage is gone');
  await f.assertSnapshot(t, eveId, eveRun.runId, f.dropboxState(eve.homeNsId), 'eve, with the revived block');
  await assertClean(t, f, 'collected beside a running backup');
});

t.test('archived entities past retain_archived_days are purged', async (t) => {
  const f = await startBackupFixture(t);
  const s = f.emu.state;
  const gone = s.addMember({ email: 'gone@coffer-emu.test' });
  const recent = s.addMember({ email: 'recent@coffer-emu.test' });
  s.putFile(gone, '/old.bin', randomBytes(50_000));
  s.putFile(recent, '/new.bin', randomBytes(50_000));
  const goneId = await f.memberEntity(gone);
  const recentId = await f.memberEntity(recent);
  await f.backup(goneId);
  const recentRun = await f.backup(recentId);
  if (recentRun.outcome !== 'succeeded') throw new Error('backup failed');
  const now = f.app.clock.now().getTime();
  const sql = f.app.deps.sql;
  await sql`update tasks set retain_archived_days = 7 where id = ${f.taskId}`;
  await sql`update entities set status = 'archived', archived_at = ${new Date(now - 8 * DAY).toISOString()} where id = ${goneId}`;
  await sql`update entities set status = 'archived', archived_at = ${new Date(now - 2 * DAY).toISOString()} where id = ${recentId}`;
  const result = await retentionJob(f.app.deps);
  t.equal(result.entitiesPurged, 1);
  t.same((await sql<{ id: string }[]>`select id from entities where task_id = ${f.taskId} order by id`).map((r) => r.id), [recentId], 'only the long-archived entity is gone');
  const [{ n }] = await sql<{ n: number }[]>`select count(*)::int as n from item_versions where entity_id = ${goneId}`;
  t.equal(n, 0);
  await f.assertSnapshot(t, recentId, recentRun.runId, f.dropboxState(recent.homeNsId), 'recently archived entity keeps its backups');
  await assertClean(t, f, 'after purging the archived entity');
});

t.test('a running backup\'s blocks, stored before their content rows, outlive the grace even with its host\'s clock ahead', async (t) => {
  const f = await startBackupFixture(t);
  const { clock } = f.app;
  const sql = f.app.deps.sql;
  const bob = f.emu.state.addMember({ email: 'bob@coffer-emu.test' });
  f.emu.state.putFile(bob, '/a.bin', randomBytes(300_000));
  f.emu.state.putFile(bob, '/b.bin', randomBytes(5 * 1024 * 1024)); // two blocks
  const bobId = await f.memberEntity(bob);
  const run = await f.backup(bobId);
  if (run.outcome !== 'succeeded') throw new Error('backup failed');
  const blocksBefore = (await inventory(f)).stored;
  t.equal(blocksBefore.size, 3);

  // Turn that run back into one still running: its blocks are stored (packs written, block rows
  // recorded) but its contents and versions are not committed yet. It started at the same moment
  // as the first sweep below, as its own host's clock (5 minutes ahead of this one) says.
  await sql`create table held_versions as select * from item_versions where entity_id = ${bobId}`;
  await sql`create table held_contents as select * from contents where account_id = ${f.accountId}`;
  await sql`delete from search_documents where entity_id = ${bobId}`;
  await sql`delete from item_versions where entity_id = ${bobId}`;
  await sql`delete from contents where account_id = ${f.accountId}`;
  const skewedStart = new Date(clock.now().getTime() + 5 * 60_000).toISOString();
  await sql`update backup_runs set state = 'running', finished_at = null, started_at = ${skewedStart} where id = ${run.runId}`;
  const conn = await sql.reserve();
  t.teardown(() => conn.release());
  await conn`select pg_advisory_lock_shared(hashtextextended(${`account:${f.accountId}`}, 0))`; // what a running backup holds

  const first = await sweepAccount(f.app.deps, f.accountId);
  t.equal(first.mode, 'concurrent');
  t.equal(first.condemned, 3, 'nothing references the blocks yet: condemned');
  t.equal(first.blocksDeleted, 0);

  // A day later the backup is still running: what it stored before the condemnation is kept.
  clock.advance(DAY);
  const second = await sweepAccount(f.app.deps, f.accountId);
  t.same([second.contentsDeleted, second.blocksDeleted, second.packsDeleted], [0, 0, 0], 'the running backup\'s blocks are not deleted');
  t.same((await inventory(f)).stored, blocksBefore, 'every block row is still there');

  // The backup commits its contents and versions, and ends.
  await sql`insert into contents select * from held_contents`;
  await sql`insert into item_versions select * from held_versions`;
  await sql`update backup_runs set state = 'succeeded', finished_at = ${clock.now().toISOString()} where id = ${run.runId}`;
  await sql`drop table held_versions`;
  await sql`drop table held_contents`;
  await conn`select pg_advisory_unlock_shared(hashtextextended(${`account:${f.accountId}`}, 0))`;
  const third = await sweepAccount(f.app.deps, f.accountId);
  t.equal(third.mode, 'exclusive');
  t.same([third.contentsDeleted, third.blocksDeleted], [0, 0]);
  await f.assertSnapshot(t, bobId, run.runId, f.dropboxState(bob.homeNsId), 'the snapshot the running backup committed');
  await assertClean(t, f, 'after the backup committed');
});
