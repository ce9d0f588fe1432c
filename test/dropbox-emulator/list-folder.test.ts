import t from 'tap';
import type { Dropbox, files } from 'dropbox';
import { harness, rejection } from './sdk-harness.ts';

type Listed = [string, string];

async function listAll(dbx: Dropbox, arg: files.ListFolderArg): Promise<{ entries: Listed[]; cursor: string; pages: number }> {
  let res = await dbx.filesListFolder(arg);
  const entries: Listed[] = res.result.entries.map((e) => [e['.tag'], e.path_lower!]);
  let pages = 1;
  while (res.result.has_more) {
    res = await dbx.filesListFolderContinue({ cursor: res.result.cursor });
    entries.push(...res.result.entries.map((e): Listed => [e['.tag'], e.path_lower!]));
    pages++;
  }
  return { entries, cursor: res.result.cursor, pages };
}

async function continueAll(dbx: Dropbox, cursor: string): Promise<{ entries: Listed[]; cursor: string }> {
  const entries: Listed[] = [];
  for (;;) {
    const res = await dbx.filesListFolderContinue({ cursor });
    entries.push(...res.result.entries.map((e): Listed => [e['.tag'], e.path_lower!]));
    cursor = res.result.cursor;
    if (!res.result.has_more) return { entries, cursor };
  }
}

t.test('recursive listing with pagination, then exactly the changes', async (t) => {
  const h = await harness(t, {}, (emu) => {
    const m = emu.state.addMember({ email: 'm@x.test', admin: true });
    emu.state.putFile(m, '/a.txt', 'a');
    emu.state.putFile(m, '/Docs/one.txt', 'one-draft');
    emu.state.putFile(m, '/Docs/one.txt', 'one'); // two revisions, listed once
    emu.state.putFile(m, '/Docs/two.txt', 'two');
    emu.state.putFile(m, '/Docs/Sub/three.txt', 'three');
    emu.state.putFile(m, '/Ünïcode/é.txt', 'unicode');
  });
  const s = h.emu.state;
  const m = s.findMember('m@x.test')!;
  const dbx = h.asUser(m.teamMemberId);

  const initial = await listAll(dbx, { path: '', recursive: true, limit: 3 });
  t.same(initial.entries, [
    ['file', '/a.txt'], ['folder', '/docs'], ['file', '/docs/one.txt'], ['file', '/docs/two.txt'],
    ['folder', '/docs/sub'], ['file', '/docs/sub/three.txt'], ['folder', '/ünïcode'], ['file', '/ünïcode/é.txt'],
  ]);
  t.equal(initial.pages, 3);

  const first = (await dbx.filesListFolder({ path: '', recursive: true, limit: 3 })).result;
  const file = first.entries[0] as files.FileMetadataReference;
  t.equal(file.name, 'a.txt');
  t.match(file.id, /^id:[A-Za-z0-9_-]{22}$/);
  t.match(file.rev, /^[0-9a-f]{9,}$/);
  t.equal(file.size, 1);
  t.match(file.server_modified, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  t.equal(file.content_hash, 'bf5d3affb73efd2ec6c36ad3112dd933efed63c4e1cbffcfa88e2759c144f2d8'); // sha256(sha256('a'))

  s.putFile(m, '/new.txt', 'new');
  s.putFile(m, '/new.txt', 'newer'); // reported once, with the latest state
  s.putFile(m, '/a.txt', 'a changed');
  s.move(m, '/Docs/Sub', '/Moved');
  s.delete(m, '/Docs/two.txt');
  s.putFile(m, '/Docs/one.txt', 'one'); // identical content: no new revision, not reported
  const changes = await continueAll(dbx, initial.cursor);
  t.same(changes.entries, [
    ['file', '/new.txt'], ['file', '/a.txt'], ['deleted', '/docs/sub'], ['folder', '/moved'], ['file', '/moved/three.txt'], ['deleted', '/docs/two.txt'],
  ]);
  const again = await dbx.filesListFolderContinue({ cursor: changes.cursor });
  t.same(again.result.entries, []);
  t.equal(again.result.has_more, false);

  const nonRecursive = await listAll(dbx, { path: '/docs' });
  t.same(nonRecursive.entries, [['file', '/docs/one.txt']]);
  const subtree = await listAll(dbx, { path: '/Moved', recursive: true });
  t.same(subtree.entries, [['folder', '/moved'], ['file', '/moved/three.txt']]);

  const withDeleted = await listAll(dbx, { path: '', recursive: true, include_deleted: true });
  t.ok(withDeleted.entries.some(([tag, p]) => tag === 'deleted' && p === '/docs/two.txt'));

  // Moved file keeps its id.
  const moved = await dbx.filesGetMetadata({ path: '/moved/three.txt' });
  const byId = await dbx.filesGetMetadata({ path: (moved.result as files.FileMetadataReference).id });
  t.equal(byId.result.path_display, '/Moved/three.txt');

  // get_latest_cursor sees only later changes; longpoll reports them.
  const latest = (await dbx.filesListFolderGetLatestCursor({ path: '', recursive: true })).result.cursor;
  s.limits.longpollMaxMs = 150;
  const idle = await dbx.filesListFolderLongpoll({ cursor: latest, timeout: 30 });
  t.equal(idle.result.changes, false);
  setTimeout(() => s.putFile(m, '/Docs/later.txt', 'later'), 30);
  s.limits.longpollMaxMs = 5000;
  const started = Date.now();
  const woke = await dbx.filesListFolderLongpoll({ cursor: latest, timeout: 30 });
  t.equal(woke.result.changes, true);
  t.ok(Date.now() - started < 2000, 'longpoll returns as soon as something changes');
  t.same((await continueAll(dbx, latest)).entries, [['file', '/docs/later.txt']]);

  s.invalidateCursors(m);
  const reset = await rejection(() => dbx.filesListFolderContinue({ cursor: latest }));
  t.equal(reset.status, 409);
  t.equal(reset.error.error['.tag'], 'reset');
  t.match(reset.error.error_summary, /^reset\/\.*$/);
});

t.test('errors, path roots, ns: paths and team-folder sharing_info', async (t) => {
  let ids: Record<string, string> = {};
  const h = await harness(t, {}, (emu) => {
    const s = emu.state;
    const admin = s.addMember({ email: 'admin@x.test', admin: true });
    const user = s.addMember({ email: 'user@x.test' });
    const tf = s.addTeamFolder('Engineering');
    const old = s.addTeamFolder('Old');
    s.archiveTeamFolder(old.id);
    s.putFile(tf.id, '/Specs/spec.md', '# spec', { modifiedBy: user.accountId });
    s.putFile(admin, '/private.txt', 'secret');
    ids = { admin: admin.teamMemberId, user: user.teamMemberId, userAccount: user.accountId, tf: tf.id, old: old.id, adminNs: admin.homeNsId };
  });
  const asUser = h.asUser(ids.user!);

  const notFound = await rejection(() => asUser.filesGetMetadata({ path: '/nope.txt' }));
  t.equal(notFound.status, 409);
  t.same(notFound.error.error, { '.tag': 'path', path: { '.tag': 'not_found' } });
  t.match(notFound.error.error_summary, /^path\/not_found\/\.*$/);
  const slashRoot = await rejection(() => asUser.filesListFolder({ path: '/' }));
  t.same(slashRoot.error.error, { '.tag': 'path', path: { '.tag': 'malformed_path' } });
  const notFolder = await rejection(() => h.asAdmin(ids.admin!).filesListFolder({ path: '/private.txt' }));
  t.same(notFolder.error.error, { '.tag': 'path', path: { '.tag': 'not_folder' } });

  // Select-Admin + Path-Root namespace_id reads a team folder; files carry sharing_info.modified_by.
  const tfList = await h.asAdmin(ids.admin!, ids.tf).filesListFolder({ path: '', recursive: true });
  const spec = tfList.result.entries.find((e) => e['.tag'] === 'file') as files.FileMetadataReference;
  t.equal(spec.path_display, '/Specs/spec.md');
  t.same(spec.sharing_info, { read_only: false, parent_shared_folder_id: ids.tf, modified_by: ids.userAccount });

  // ns: paths without a Path-Root header.
  const viaNs = await h.asAdmin(ids.admin!).filesListFolder({ path: `ns:${ids.tf}/Specs` });
  t.same(viaNs.result.entries.map((e) => e.name), ['spec.md']);

  // A member can't root into another member's home (422) nor into an archived team folder.
  const foreign = await rejection(() => h.asUser(ids.user!, JSON.stringify({ '.tag': 'namespace_id', namespace_id: ids.adminNs })).filesListFolder({ path: '' }));
  t.equal(foreign.status, 422);
  t.equal(foreign.error.error['.tag'], 'no_permission');
  const archived = await rejection(() => h.asUser(ids.user!, JSON.stringify({ '.tag': 'namespace_id', namespace_id: ids.old })).filesListFolder({ path: '' }));
  t.equal(archived.status, 422);
  const wrongRoot = await rejection(() => h.asUser(ids.user!, JSON.stringify({ '.tag': 'root', root: '123' })).filesListFolder({ path: '' }));
  t.equal(wrongRoot.status, 422);
  t.equal(wrongRoot.error.error['.tag'], 'invalid_root');
  const memberTf = await h.asUser(ids.user!, JSON.stringify({ '.tag': 'namespace_id', namespace_id: ids.tf })).filesListFolder({ path: '/Specs' });
  t.equal(memberTf.result.entries.length, 1);

  const badLimit = await rejection(() => asUser.filesListFolder({ path: '', limit: 2001 }));
  t.equal(badLimit.status, 400);
});

t.test('a team folder mounted in a member\'s home: its contents are listed only with include_mounted_folders', async (t) => {
  let member = '';
  let tfId = '';
  const h = await harness(t, {}, (emu) => {
    const m = emu.state.addMember({ email: 'm@x.test', admin: true });
    member = m.teamMemberId;
    emu.state.putFile(m, '/own.txt', 'own');
    const tf = emu.state.addTeamFolder('Marketing');
    tfId = tf.id;
    emu.state.putFile(tf.name, '/Plans/q3.md', 'q3');
    emu.state.mountTeamFolder(m, tf);
  });
  const dbx = h.asUser(member);
  const mounted = await listAll(dbx, { path: '', recursive: true });
  t.same(mounted.entries, [['file', '/own.txt'], ['folder', '/marketing'], ['folder', '/marketing/plans'], ['file', '/marketing/plans/q3.md']],
    'include_mounted_folders defaults to true: the mount point, then what is under it');
  t.same((await listAll(dbx, { path: '', recursive: true, include_mounted_folders: true })).entries, mounted.entries);
  const own = await listAll(dbx, { path: '', recursive: true, include_mounted_folders: false });
  t.same(own.entries, [['file', '/own.txt'], ['folder', '/marketing']], 'false: the mount point only, nothing under it');

  const res = await dbx.filesListFolder({ path: '', recursive: true });
  const byPath = new Map(res.result.entries.map((e) => [e.path_lower, e]));
  t.same(byPath.get('/marketing'), {
    '.tag': 'folder', name: 'Marketing', path_lower: '/marketing', path_display: '/Marketing', id: (byPath.get('/marketing') as files.FolderMetadataReference).id,
    shared_folder_id: tfId, sharing_info: { read_only: false, shared_folder_id: tfId, traverse_only: false, no_access: false },
  }, 'the mount point names the mounted folder (FolderSharingInfo.shared_folder_id)');
  const q3 = byPath.get('/marketing/plans/q3.md') as files.FileMetadataReference;
  t.equal(q3.path_display, '/Marketing/Plans/q3.md');
  t.match(q3.sharing_info, { read_only: false, parent_shared_folder_id: tfId }, 'what is under it says which shared folder holds it');
  t.equal(q3.parent_shared_folder_id, tfId);

  // Changes in the mounted folder reach cursors that include mounts, and only those.
  h.emu.state.putFile('Marketing', '/Plans/q4.md', 'q4');
  h.emu.state.delete('Marketing', '/Plans/q3.md');
  t.same((await continueAll(dbx, mounted.cursor)).entries, [['file', '/marketing/plans/q4.md'], ['deleted', '/marketing/plans/q3.md']]);
  t.same((await continueAll(dbx, own.cursor)).entries, []);
  const latest = await dbx.filesListFolderGetLatestCursor({ path: '', recursive: true });
  h.emu.state.putFile('Marketing', '/late.txt', 'late');
  t.same((await continueAll(dbx, latest.result.cursor)).entries, [['file', '/marketing/late.txt']], 'get_latest_cursor starts mounts at their end too');

  const inside = await listAll(dbx, { path: '/marketing' });
  t.same(inside.entries, [['folder', '/marketing/plans'], ['file', '/marketing/late.txt']], 'listing the mount point itself shows the mounted folder\'s top level');
  t.same((await listAll(dbx, { path: '/marketing', include_mounted_folders: false })).entries, []);
});
