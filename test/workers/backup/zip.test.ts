// First backups fetch the namespace's top-level folders as files/download_zip (Dropbox zips no
// namespace root): one call per folder instead of one per file, the same snapshot byte for byte,
// blocks still deduplicated across members; when Dropbox refuses a zip (too many files) or it is
// over the size limit, file-by-file downloads take over.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { startBackupFixture } from '../../helpers/backup-fixture.ts';
import { requestUrl } from '../../../workers/dropbox/transport.ts';

t.test('a first backup of many small files is one download_zip per top-level folder', async (t) => {
  const f = await startBackupFixture(t);
  const s = f.emu.state;
  const bob = s.addMember({ email: 'bob@coffer-emu.test' });
  const eve = s.addMember({ email: 'eve@coffer-emu.test' });
  for (let i = 0; i < 400; i++) s.putFile(bob, `/notes/${i % 7}/n${i}.txt`, `note ${i}\n`.repeat(1 + (i % 9)));
  const shared = randomBytes(6 * 1024 * 1024);
  s.putFile(bob, '/Ünïcode/shared.bin', shared);
  s.putFile(bob, '/empty', Buffer.alloc(0));
  s.putFile(eve, '/copy.bin', shared);
  s.putFile(eve, '/own.txt', 'eve');
  const bobId = await f.memberEntity(bob);
  const eveId = await f.memberEntity(eve);

  f.emu.counters.reset();
  const r = await f.backup(bobId, { zipMaxBytes: 64 * 1024 * 1024 });
  t.equal(r.outcome, 'succeeded');
  if (r.outcome !== 'succeeded') return;
  t.same(f.emu.counters.routes, { 'files/download_zip': 2, 'files/list_folder': 2 }, 'the listing, the root\'s folders, a zip of each; no per-file download');
  t.equal(r.counts.downloaded, 401, 'every non-empty file came from the zips');
  await f.assertSnapshot(t, bobId, r.runId, f.dropboxState(bob.homeNsId), 'zip first backup');

  const r2 = await f.backup(eveId, { zipMaxBytes: 64 * 1024 * 1024 });
  t.equal(r2.outcome, 'succeeded');
  if (r2.outcome === 'succeeded') await f.assertSnapshot(t, eveId, r2.runId, f.dropboxState(eve.homeNsId), 'second member');
  const [{ n }] = await f.app.deps.sql<{ n: number }[]>`select count(*)::int as n from blocks where account_id = ${f.accountId} and plain_size = 4194304`;
  t.equal(n, 1, "the shared file's first block is stored once across members");

  // Later runs are incremental: no zip.
  s.putFile(bob, '/notes/new.txt', 'new');
  f.emu.counters.reset();
  const r3 = await f.backup(bobId, { zipMaxBytes: 64 * 1024 * 1024 });
  t.same(f.emu.counters.routes, { 'files/list_folder/continue': 1, 'files/download': 1 });
  if (r3.outcome === 'succeeded') await f.assertSnapshot(t, bobId, r3.runId, f.dropboxState(bob.homeNsId), 'incremental after zip');
});

t.test('files at the root and in folders: each top-level folder zipped, root files fetched one by one', async (t) => {
  const f = await startBackupFixture(t);
  const s = f.emu.state;
  const bob = s.addMember({ email: 'bob@coffer-emu.test' });
  for (let i = 0; i < 6; i++) s.putFile(bob, `/root-${i}.txt`, `at the root ${i}\n`.repeat(3 + i));
  for (const folder of ['Alpha', 'Beta', 'Gamma']) for (let i = 0; i < 15; i++) s.putFile(bob, `/${folder}/sub ${i % 2}/${i}.txt`, `${folder} ${i}\n`.repeat(10 + i));
  const bobId = await f.memberEntity(bob);
  f.emu.counters.reset();
  const r = await f.backup(bobId, { zipMaxBytes: 64 * 1024 * 1024 });
  t.equal(r.outcome, 'succeeded');
  if (r.outcome !== 'succeeded') return;
  t.same(f.emu.counters.routes, { 'files/list_folder': 2, 'files/download_zip': 3, 'files/download': 6 },
    'the recursive listing and the root\'s folders; a zip per top-level folder (never the root); the 6 root files one by one');
  t.equal(r.counts.downloaded, 51);
  await f.assertSnapshot(t, bobId, r.runId, f.dropboxState(bob.homeNsId), 'root files and zipped folders');
});

t.test('a zip bigger than the memory bound is spilled to a temp file, stored the same, and removed', async (t) => {
  const f = await startBackupFixture(t);
  const s = f.emu.state;
  const bob = s.addMember({ email: 'bob@coffer-emu.test' });
  for (let i = 0; i < 60; i++) s.putFile(bob, `/docs/d${i}.txt`, `doc ${i}\n`.repeat(50 + i));
  s.putFile(bob, '/docs/big.bin', randomBytes(5 * 1024 * 1024)); // more than one block: streamed from the file
  const bobId = await f.memberEntity(bob);
  f.emu.counters.reset();
  const r = await f.backup(bobId, { zipMaxBytes: 64 * 1024 * 1024, zipMemoryBytes: 64 * 1024 });
  t.equal(r.outcome, 'succeeded');
  if (r.outcome !== 'succeeded') return;
  t.same(f.emu.counters.routes, { 'files/download_zip': 1, 'files/list_folder': 2 }, 'everything came from the one zip');
  await f.assertSnapshot(t, bobId, r.runId, f.dropboxState(bob.homeNsId), 'spilled zip');
  const { readdir } = await import('node:fs/promises');
  const { join } = await import('node:path');
  t.same(await readdir(join(f.app.deps.config.dataDir, 'tmp')), [], 'the temp zip is gone');
});

t.test('a later run zips a folder that appeared since, with many small files in it', async (t) => {
  const f = await startBackupFixture(t);
  const s = f.emu.state;
  const bob = s.addMember({ email: 'bob@coffer-emu.test' });
  s.putFile(bob, '/old/a.txt', 'a');
  const bobId = await f.memberEntity(bob);
  const first = await f.backup(bobId, { zipMaxBytes: 64 * 1024 * 1024 });
  t.equal(first.outcome, 'succeeded');

  for (let i = 0; i < 30; i++) s.putFile(bob, `/Trip 2026/day ${i % 3}/photo-${i}.txt`, `photo ${i}\n`.repeat(20 + i));
  s.putFile(bob, '/Trip 2026/video.bin', randomBytes(2 * 1024 * 1024)); // bigger: it comes in the zip too
  s.putFile(bob, '/old/b.txt', 'b'); // a new file in an old folder: its own download
  for (let i = 0; i < 5; i++) s.putFile(bob, `/Few/${i}.txt`, `few ${i}`); // a new folder with few files: not worth a zip
  f.emu.counters.reset();
  const r = await f.backup(bobId, { zipMaxBytes: 64 * 1024 * 1024, pageLimit: 25 });
  t.equal(r.outcome, 'succeeded');
  if (r.outcome !== 'succeeded') return;
  t.equal(f.emu.counters.routes['files/download_zip'], 1, 'one zip for the new folder');
  t.equal(f.emu.counters.routes['files/download'], 6, 'the file in the old folder and the five in the small new folder, one by one');
  await f.assertSnapshot(t, bobId, r.runId, f.dropboxState(bob.homeNsId), 'after the new folder');

  // Two new folders zipped in one page, both holding one same file: its content is recorded once.
  for (let i = 0; i < 25; i++) {
    s.putFile(bob, `/Copy A/a${i}.txt`, `only in A ${i}\n`.repeat(30));
    s.putFile(bob, `/Copy B/b${i}.txt`, `only in B ${i}\n`.repeat(30));
  }
  s.putFile(bob, '/Copy A/common.txt', 'in both');
  s.putFile(bob, '/Copy B/common.txt', 'in both');
  f.emu.counters.reset();
  const twice = await f.backup(bobId, { zipMaxBytes: 64 * 1024 * 1024 });
  t.equal(twice.outcome, 'succeeded');
  if (twice.outcome !== 'succeeded') return;
  t.equal(f.emu.counters.routes['files/download_zip'], 2, 'one zip per new folder');
  await f.assertSnapshot(t, bobId, twice.runId, f.dropboxState(bob.homeNsId), 'two folders of the same files');
});

t.test('too many files or too large: file by file', async (t) => {
  const f = await startBackupFixture(t);
  const s = f.emu.state;
  const bob = s.addMember({ email: 'bob@coffer-emu.test' });
  const eve = s.addMember({ email: 'eve@coffer-emu.test' });
  for (let i = 0; i < 30; i++) s.putFile(bob, `/many/f${i}.txt`, `file ${i}`);
  s.putFile(eve, '/big.bin', randomBytes(3 * 1024 * 1024));
  s.putFile(eve, '/small.txt', 'small');
  s.limits.zipMaxFiles = 10;
  const bobId = await f.memberEntity(bob);
  const eveId = await f.memberEntity(eve);

  f.emu.counters.reset();
  const r = await f.backup(bobId, { zipMaxBytes: 64 * 1024 * 1024 });
  t.equal(f.emu.counters.routes['files/download_zip'], 1, 'asked once');
  t.equal(f.emu.counters.routes['files/download'], 30, 'then downloaded file by file');
  if (r.outcome === 'succeeded') await f.assertSnapshot(t, bobId, r.runId, f.dropboxState(bob.homeNsId), 'fallback (too many files)');

  f.emu.counters.reset();
  const r2 = await f.backup(eveId, { zipMaxBytes: 1024 * 1024 });
  t.equal(f.emu.counters.routes['files/download'], 2, 'two files: not worth a zip');
  t.equal(f.emu.counters.routes['files/download_zip'], undefined);
  if (r2.outcome === 'succeeded') await f.assertSnapshot(t, eveId, r2.runId, f.dropboxState(eve.homeNsId), 'fallback (too large)');
  const [{ n }] = await f.app.deps.sql<{ n: number }[]>`select count(*)::int as n from packs where account_id = ${f.accountId} and state <> 'written'`;
  t.equal(n, 0);
});

t.test('a namespace with too many entries is zipped folder by folder', async (t) => {
  const f = await startBackupFixture(t);
  const s = f.emu.state;
  const bob = s.addMember({ email: 'bob@coffer-emu.test' });
  for (let d = 0; d < 3; d++) for (let i = 0; i < 8; i++) s.putFile(bob, `/Team ${d}/doc-${i}.txt`, `folder ${d} doc ${i}`);
  for (let i = 0; i < 12; i++) s.putFile(bob, `/Big Folder/a/b${i}.txt`, `deep ${i}`);
  s.putFile(bob, '/top.txt', 'top level');
  s.limits.zipMaxFiles = 10; // "fewer than 10 entries" per zip in this test
  const bobId = await f.memberEntity(bob);
  f.emu.counters.reset();
  const r = await f.backup(bobId, { zipMaxBytes: 64 * 1024 * 1024 });
  t.equal(r.outcome, 'succeeded');
  // 4 top folders: 3 fit, "Big Folder" is refused, then its child "a" is refused too.
  t.equal(f.emu.counters.routes['files/download_zip'], 5);
  t.equal(f.emu.counters.routes['files/download'], 13, 'only the files no zip could cover (top.txt and the 12 in the crowded folder)');
  if (r.outcome === 'succeeded') await f.assertSnapshot(t, bobId, r.runId, f.dropboxState(bob.homeNsId), 'folder-by-folder zips');
});

t.test('pages commit while later zips are still being fetched and stored', async (t) => {
  const f = await startBackupFixture(t);
  const s = f.emu.state;
  const bob = s.addMember({ email: 'bob@coffer-emu.test' });
  for (let d = 0; d < 4; d++) for (let i = 0; i < 24; i++) s.putFile(bob, `/Folder ${d}/doc-${i}.bin`, randomBytes(2000 + i));
  const bobId = await f.memberEntity(bob);

  // The last folder's zip is held until a page committed (or 5 s went by): the pages of the first
  // folders must not wait for the whole pre-pass.
  let zips = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let heldZipWaited = false;
  let committedWhileHeld = 0;
  let holding = false;
  const fetchFn = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = requestUrl(input);
    if (url.endsWith('/2/files/download_zip') && ++zips === 4) {
      holding = true;
      heldZipWaited = await Promise.race([gate.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))]);
      holding = false;
    }
    return fetch(input, init);
  };
  f.emu.counters.reset();
  const r = await f.backup(bobId, {
    zipMaxBytes: 64 * 1024 * 1024,
    pageLimit: 25,
    targetPackSize: 16 * 1024, // several packs per zip: they fill (and become durable) as the zips come in
    fetch: fetchFn,
    onPageCommitted: () => {
      if (holding) committedWhileHeld++;
      release();
    },
  });
  t.equal(r.outcome, 'succeeded');
  t.ok(heldZipWaited, 'a page committed while the last zip was held');
  t.ok(committedWhileHeld >= 1, `${committedWhileHeld} page(s) committed before the last zip was fetched`);
  t.equal(f.emu.counters.routes['files/download_zip'], 4, 'one zip per folder');
  t.equal(f.emu.counters.routes['files/download'] ?? 0, 0, 'no file fetched on its own');
  if (r.outcome !== 'succeeded') return;
  t.equal(r.counts.downloaded, 96, 'every file counted once, the held zip\'s included');
  await f.assertSnapshot(t, bobId, r.runId, f.dropboxState(bob.homeNsId), 'overlapped zips and pages');
});

t.test('access revoked while the zips are being fetched: the run fails and disconnects the task, nothing half-recorded', async (t) => {
  const f = await startBackupFixture(t);
  const s = f.emu.state;
  const bob = s.addMember({ email: 'bob@coffer-emu.test' });
  for (let d = 0; d < 4; d++) for (let i = 0; i < 24; i++) s.putFile(bob, `/Folder ${d}/doc-${i}.bin`, randomBytes(2000 + i));
  const bobId = await f.memberEntity(bob);
  let zips = 0;
  const fetchFn = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = requestUrl(input);
    if (url.endsWith('/2/files/download_zip') && ++zips === 3) s.revokeRefreshTokens({ accessTokensToo: true });
    return fetch(input, init);
  };
  const r = await f.backup(bobId, { zipMaxBytes: 64 * 1024 * 1024, pageLimit: 25, targetPackSize: 16 * 1024, fetch: fetchFn });
  t.equal(r.outcome, 'failed');
  if (r.outcome === 'failed') t.match(r.error, /invalid_grant/);
  const [task] = await f.app.deps.sql<{ connection_status: string }[]>`select connection_status from tasks where id = ${f.taskId}`;
  t.equal(task!.connection_status, 'disconnected');
  const [{ n }] = await f.app.deps.sql<{ n: number }[]>`select count(*)::int as n from item_versions where entity_id = ${bobId}`;
  t.equal(n, 0, 'a failed run leaves no versions');
});

t.test('a zip without Content-Length is read the same; one shorter than its Content-Length falls back to file by file', async (t) => {
  const f = await startBackupFixture(t);
  const s = f.emu.state;
  const bob = s.addMember({ email: 'bob@coffer-emu.test' });
  const eve = s.addMember({ email: 'eve@coffer-emu.test' });
  for (let i = 0; i < 30; i++) s.putFile(bob, `/b/${i}.txt`, `bob ${i} `.repeat(20 + i));
  for (let i = 0; i < 30; i++) s.putFile(eve, `/e/${i}.txt`, `eve ${i} `.repeat(20 + i));
  const zipsOnly = (rewrite: (res: Response) => Promise<Response>) => async (input: string | URL | Request, init?: RequestInit) => {
    const url = requestUrl(input);
    const res = await fetch(input, init);
    return url.endsWith('/2/files/download_zip') && res.status === 200 ? rewrite(res) : res;
  };
  const headersWithout = (res: Response, name: string) => {
    const h = new Headers(res.headers);
    h.delete(name);
    return h;
  };

  // Streamed with no length: collected in memory as it comes.
  const bobId = await f.memberEntity(bob);
  f.emu.counters.reset();
  const chunked = zipsOnly(async (res) => new Response(res.body, { status: 200, headers: headersWithout(res, 'content-length') }));
  const r = await f.backup(bobId, { zipMaxBytes: 64 * 1024 * 1024, fetch: chunked });
  t.equal(r.outcome, 'succeeded');
  t.same(f.emu.counters.routes, { 'files/download_zip': 1, 'files/list_folder': 2 }, 'everything from the zip');
  if (r.outcome === 'succeeded') await f.assertSnapshot(t, bobId, r.runId, f.dropboxState(bob.homeNsId), 'zip without a length');

  // Announced longer than it is: the zip is dropped and the files are fetched one by one.
  const eveId = await f.memberEntity(eve);
  f.emu.counters.reset();
  const short = zipsOnly(async (res) => {
    const bytes = Buffer.from(await res.arrayBuffer());
    const h = headersWithout(res, 'content-length');
    h.set('content-length', String(bytes.length + 100));
    return new Response(new ReadableStream({ start: (c) => { c.enqueue(bytes); c.close(); } }), { status: 200, headers: h });
  });
  const r2 = await f.backup(eveId, { zipMaxBytes: 64 * 1024 * 1024, fetch: short });
  t.equal(r2.outcome, 'succeeded');
  t.equal(f.emu.counters.routes['files/download'], 30, 'each file fetched on its own');
  if (r2.outcome === 'succeeded') await f.assertSnapshot(t, eveId, r2.runId, f.dropboxState(eve.homeNsId), 'after a short zip');
});
