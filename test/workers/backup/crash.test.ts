// A real worker process (`node api/server.ts --role worker`) killed with SIGKILL in the middle of a
// backup, then restarted: the run resumes from its last committed page and ends with a correct
// snapshot, no duplicate versions, no orphan blocks and no stray pack objects.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import type { Member } from '../../dropbox-emulator/state.ts';
import { requestBackup } from '../../../workers/backup/request.ts';
import { assertRepositoryConsistent } from '../../helpers/repository-consistency.ts';
import { startQueue } from '../../../workers/queue.ts';
import { startBackupFixture, type BackupFixture } from '../../helpers/backup-fixture.ts';

const SERVER = fileURLToPath(new URL('../../../api/server.ts', import.meta.url));

interface Scenario {
  /** Fills the member's Dropbox. */
  seed: (f: BackupFixture, bob: Member) => void;
  /** Called once the first page committed, just before the kill. */
  atKill?: (t: Test, f: BackupFixture) => void;
}

async function killAndResume(t: Test, scenario: Scenario): Promise<void> {
  const masterKey = randomBytes(32);
  const f = await startBackupFixture(t, { masterKey });
  const s = f.emu.state;
  const bob = s.addMember({ email: 'bob@coffer-emu.test' });
  scenario.seed(f, bob);
  const entityId = await f.memberEntity(bob);

  const boss = await startQueue({ connectionString: f.app.database.url, runsWorkers: false, onError: () => {} });
  t.teardown(() => boss.stop({ graceful: false }));
  const deps = { ...f.app.deps, boss };

  const children = new Set<ChildProcess>();
  t.teardown(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  });
  const startWorker = async () => {
    const child = spawn(process.execPath, [SERVER, '--role', 'worker'], {
      env: {
        ...process.env,
        DATABASE_URL: f.app.database.url,
        COFFER_DROPBOX_API_URL: f.emu.url,
        COFFER_MASTER_KEY: masterKey.toString('base64'),
        COFFER_DATA_DIR: f.dataDir,
        LOG_LEVEL: 'error',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.add(child);
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`worker exited early (${code})`)));
      child.stdout!.on('data', (b: Buffer) => {
        if (b.toString().includes('Coffer workers running')) resolve();
      });
    });
    return child;
  };
  const runRow = async () =>
    (await f.app.deps.sql<{ id: string; state: string; pages: number; resumes: number }[]>`
      select id, state, pages, resumes from backup_runs where entity_id = ${entityId} order by id desc limit 1`)[0];
  const waitFor = async (what: string, pred: () => Promise<boolean>, ms = 40_000) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await pred()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${what}`);
  };

  const first = await startWorker();
  await f.app.deps.db.transaction((tx) => requestBackup(deps, tx, { accountId: f.accountId, entityId, reason: 'manual' }));
  await waitFor('the first page to commit', async () => ((await runRow())?.pages ?? 0) >= 1);
  scenario.atKill?.(t, f);
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  const killed = await runRow();
  t.equal(killed!.state, 'running', `killed mid-run after ${killed!.pages} committed page(s)`);

  await startWorker();
  const jobId = await f.app.deps.db.transaction((tx) => requestBackup(deps, tx, { accountId: f.accountId, entityId, reason: 'manual' }));
  t.ok(jobId, 'a new job is accepted while the dead one is still marked active');
  await waitFor('the run to complete', async () => (await runRow())?.state !== 'running');
  const done = await runRow();
  t.equal(done!.id, killed!.id, 'the same run was resumed, not restarted');
  t.equal(done!.state, 'succeeded');
  t.equal(done!.resumes, 1);

  await f.assertSnapshot(t, entityId, done!.id, f.dropboxState(bob.homeNsId), 'resumed run');
  const sql = f.app.deps.sql;
  const [versions] = await sql<{ n: number; paths: number }[]>`
    select count(*)::int as n, count(distinct path_lower)::int as paths from item_versions where entity_id = ${entityId}`;
  t.equal(versions!.n, versions!.paths, 'no duplicate versions');
  t.equal(versions!.n, f.dropboxState(bob.homeNsId).size, 'one version per item');
  await assertRepositoryConsistent(t, f.app.deps, f.accountId);
}

t.test('SIGKILL mid-run, restart, resume', (t) =>
  killAndResume(t, {
    seed: (f, bob) => {
      // 2,500 small files (2 listing pages of 2,000) and some multi-block files.
      for (let i = 0; i < 2500; i++) f.emu.state.putFile(bob, `/d${i % 50}/f${i}.txt`, `content of file ${i}\n`.repeat(1 + (i % 5)));
      for (let i = 0; i < 3; i++) f.emu.state.putFile(bob, `/big/${i}.bin`, randomBytes(5 * 1024 * 1024));
      // Slow the listing down (real Retry-After waits in the worker) so the kill lands mid-run.
      f.emu.faults.add({ route: 'files/list_folder/continue', kind: '429-json', times: 2, retryAfter: 1 });
    },
  }));

t.test('SIGKILL after a page committed while the first backup\'s zips were still being stored', (t) =>
  killAndResume(t, {
    seed: (f, bob) => {
      // 40 folders of 100 files of 12 KB (about three packs): one zip per folder, and the first
      // page (2,000 entries) commits once the packs holding its half of the files are written.
      for (let d = 0; d < 40; d++) for (let i = 0; i < 100; i++) f.emu.state.putFile(bob, `/d${d}/f${i}.bin`, randomBytes(12_000));
      f.emu.faults.latencyMs = 60; // every call: the zips still to come take seconds, so the kill lands among them
    },
    atKill: (t, f) => {
      const zips = f.emu.counters.routes['files/download_zip'] ?? 0;
      t.ok(zips < 40, `killed after ${zips} of 40 zip calls (one per folder)`);
      f.emu.faults.latencyMs = 0;
    },
  }));
