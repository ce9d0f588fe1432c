import t from 'tap';
import type { files } from 'dropbox';
import { harness, rejection } from './sdk-harness.ts';
import { dropboxContentHash } from './content-hash.ts';

const MiB = 1024 * 1024;

t.test('upload WriteModes, autorename, strict_conflict, content_hash_mismatch', async (t) => {
  let member = '';
  const h = await harness(t, {}, (emu) => { member = emu.state.addMember({ email: 'u@x.test', admin: true }).teamMemberId; });
  const dbx = h.asUser(member);

  const first = (await dbx.filesUpload({ path: '/Notes/todo.txt', contents: Buffer.from('v1') })).result;
  t.equal(first.path_display, '/Notes/todo.txt');
  const same = (await dbx.filesUpload({ path: '/notes/TODO.txt', contents: Buffer.from('v1') })).result;
  t.equal(same.rev, first.rev, 'identical content creates no revision');
  t.equal(same.path_display, '/Notes/todo.txt');

  const conflict = await rejection(() => dbx.filesUpload({ path: '/Notes/todo.txt', contents: Buffer.from('v2') }));
  t.equal(conflict.status, 409);
  t.same(conflict.error.error, { '.tag': 'path', reason: { '.tag': 'conflict', conflict: { '.tag': 'file' } }, upload_session_id: '' });
  t.match(conflict.error.error_summary, /^path\/conflict\/file\/\.*$/);

  const renamed = (await dbx.filesUpload({ path: '/Notes/todo.txt', contents: Buffer.from('v2'), autorename: true })).result;
  t.equal(renamed.path_display, '/Notes/todo (1).txt');

  const over = (await dbx.filesUpload({ path: '/Notes/todo.txt', contents: Buffer.from('v3'), mode: { '.tag': 'overwrite' } })).result;
  t.not(over.rev, first.rev);
  t.equal(over.id, first.id, 'id is stable across revisions');

  const stale = await rejection(() => dbx.filesUpload({ path: '/Notes/todo.txt', contents: Buffer.from('v4'), mode: { '.tag': 'update', update: first.rev } }));
  t.same(stale.error.error.reason, { '.tag': 'conflict', conflict: { '.tag': 'file' } });
  const conflictedCopy = (await dbx.filesUpload({ path: '/Notes/todo.txt', contents: Buffer.from('v4'), mode: { '.tag': 'update', update: first.rev }, autorename: true })).result;
  t.equal(conflictedCopy.name, 'todo (conflicted copy).txt');
  const updated = (await dbx.filesUpload({ path: '/Notes/todo.txt', contents: Buffer.from('v5'), mode: { '.tag': 'update', update: over.rev } })).result;
  t.equal(updated.size, 2);

  const strict = await rejection(() => dbx.filesUpload({ path: '/Notes/todo.txt', contents: Buffer.from('v5'), strict_conflict: true }));
  t.equal(strict.error.error.reason['.tag'], 'conflict');

  const onFolder = await rejection(() => dbx.filesUpload({ path: '/Notes', contents: Buffer.from('x'), mode: { '.tag': 'overwrite' } }));
  t.same(onFolder.error.error.reason, { '.tag': 'conflict', conflict: { '.tag': 'folder' } });
  const underFile = await rejection(() => dbx.filesUpload({ path: '/Notes/todo.txt/inner.txt', contents: Buffer.from('x') }));
  t.same(underFile.error.error.reason, { '.tag': 'conflict', conflict: { '.tag': 'file_ancestor' } });

  const mismatch = await rejection(() => dbx.filesUpload({ path: '/h.txt', contents: Buffer.from('hello'), content_hash: 'ab'.repeat(32) }));
  t.same(mismatch.error.error, { '.tag': 'content_hash_mismatch' });
  const matched = await dbx.filesUpload({ path: '/h.txt', contents: Buffer.from('hello'), content_hash: dropboxContentHash(Buffer.from('hello')), client_modified: '2021-02-03T04:05:06Z' });
  t.equal(matched.result.client_modified, '2021-02-03T04:05:06Z');

  const badMode = await rejection(() => dbx.filesUpload({ path: '/x.txt', contents: Buffer.from('x'), mode: 'update' as never }));
  t.equal(badMode.status, 400);
  t.type(badMode.error, 'string');

  h.emu.state.limits.requestMaxBytes = 10;
  const tooBig = await rejection(() => dbx.filesUpload({ path: '/big.txt', contents: Buffer.alloc(11) }));
  t.equal(tooBig.status, 409);
  t.same(tooBig.error.error, { '.tag': 'payload_too_large' });
  h.emu.state.limits.requestMaxBytes = 150 * MiB;

  const folder = await dbx.filesCreateFolderV2({ path: '/Made/Deep' });
  t.equal(folder.result.metadata.path_display, '/Made/Deep');
  const folderConflict = await rejection(() => dbx.filesCreateFolderV2({ path: '/made/deep' }));
  t.same(folderConflict.error.error, { '.tag': 'path', path: { '.tag': 'conflict', conflict: { '.tag': 'folder' } } });
  const folderRenamed = await dbx.filesCreateFolderV2({ path: '/Made/Deep', autorename: true });
  t.equal(folderRenamed.result.metadata.name, 'Deep (1)');

  t.equal(h.emu.counters.routes['files/upload'], 15);
  // Data transport counts calls that got past authentication; the oversized body was refused before that.
  t.equal(h.emu.counters.dataTransportThisMonth(), 14);
});

t.test('upload sessions: sequential, incorrect_offset, concurrent', async (t) => {
  let member = '';
  const h = await harness(t, {}, (emu) => { member = emu.state.addMember({ email: 's@x.test', admin: true }).teamMemberId; });
  const dbx = h.asUser(member);
  const data = Buffer.alloc(9 * MiB, 'z');

  const { session_id } = (await dbx.filesUploadSessionStart({ contents: data.subarray(0, 4 * MiB) })).result;
  await dbx.filesUploadSessionAppendV2({ cursor: { session_id, offset: 4 * MiB }, contents: data.subarray(4 * MiB, 8 * MiB) });
  const wrong = await rejection(() => dbx.filesUploadSessionAppendV2({ cursor: { session_id, offset: 4 * MiB }, contents: data.subarray(4 * MiB, 8 * MiB) }));
  t.equal(wrong.status, 409);
  t.same(wrong.error.error, { '.tag': 'incorrect_offset', correct_offset: 8 * MiB });
  t.match(wrong.error.error_summary, /^incorrect_offset\/\.*$/);
  const finishWrong = await rejection(() => dbx.filesUploadSessionFinish({ cursor: { session_id, offset: 1 }, commit: { path: '/big.bin' }, contents: data.subarray(8 * MiB) }));
  t.same(finishWrong.error.error, { '.tag': 'lookup_failed', lookup_failed: { '.tag': 'incorrect_offset', correct_offset: 8 * MiB } });
  t.match(finishWrong.error.error_summary, /^lookup_failed\/incorrect_offset\/\.*$/);
  const done = await dbx.filesUploadSessionFinish({ cursor: { session_id, offset: 8 * MiB }, commit: { path: '/big.bin' }, contents: data.subarray(8 * MiB) });
  t.equal(done.result.size, 9 * MiB);
  t.equal(done.result.content_hash, dropboxContentHash(data));
  const gone = await rejection(() => dbx.filesUploadSessionAppendV2({ cursor: { session_id, offset: 9 * MiB }, contents: Buffer.from('x') }));
  t.same(gone.error.error, { '.tag': 'not_found' });

  // Concurrent: 4 MiB-aligned appends in any order, no data on start/finish.
  const conc = (await dbx.filesUploadSessionStart({ session_type: { '.tag': 'concurrent' } })).result.session_id;
  const badSize = await rejection(() => dbx.filesUploadSessionAppendV2({ cursor: { session_id: conc, offset: 0 }, contents: Buffer.alloc(100) }));
  t.same(badSize.error.error, { '.tag': 'concurrent_session_invalid_data_size' });
  await dbx.filesUploadSessionAppendV2({ cursor: { session_id: conc, offset: 8 * MiB }, contents: data.subarray(8 * MiB), close: true });
  await dbx.filesUploadSessionAppendV2({ cursor: { session_id: conc, offset: 0 }, contents: data.subarray(0, 4 * MiB) });
  const missing = await rejection(() => dbx.filesUploadSessionFinish({ cursor: { session_id: conc, offset: 9 * MiB }, commit: { path: '/conc.bin' } }));
  t.same(missing.error.error, { '.tag': 'concurrent_session_missing_data' });
  await dbx.filesUploadSessionAppendV2({ cursor: { session_id: conc, offset: 4 * MiB }, contents: data.subarray(4 * MiB, 8 * MiB) });
  const concDone = await dbx.filesUploadSessionFinish({ cursor: { session_id: conc, offset: 9 * MiB }, commit: { path: '/conc.bin' } });
  t.equal(concDone.result.content_hash, dropboxContentHash(data));
  // sequential 9 MiB + rejected duplicate 4 MiB + rejected finish 1 MiB + 1 byte to a finished session + 100 bytes + concurrent 9 MiB
  t.equal(h.emu.counters.bytesUploaded, 9 * MiB + 4 * MiB + 1 * MiB + 1 + 100 + 9 * MiB);
});

t.test('start_batch + append_batch + finish_batch_v2: 10 files in 3 data-transport calls', async (t) => {
  let ids: Record<string, string> = {};
  const h = await harness(t, {}, (emu) => {
    const admin = emu.state.addMember({ email: 'b@x.test', admin: true });
    const tf = emu.state.addTeamFolder('Shared');
    ids = { admin: admin.teamMemberId, adminAccount: admin.accountId, tf: tf.id };
  });
  const dbx = h.asAdmin(ids.admin!, ids.tf);
  const bodies = Array.from({ length: 10 }, (_, i) => Buffer.from(`file number ${i} `.repeat(i + 1)));
  h.emu.counters.reset();

  const { session_ids } = (await dbx.filesUploadSessionStartBatch({ num_sessions: 10 })).result;
  t.equal(session_ids.length, 10);
  const appended = await dbx.filesUploadSessionAppendBatch({
    entries: session_ids.map((id, i) => ({ cursor: { session_id: id, offset: 0 }, length: bodies[i]!.length, close: true })),
    contents: Buffer.concat(bodies),
  });
  t.same(appended.result.entries, Array.from({ length: 10 }, () => ({ '.tag': 'success' })));
  const finished = await dbx.filesUploadSessionFinishBatchV2({
    entries: session_ids.map((id, i) => ({ cursor: { session_id: id, offset: bodies[i]!.length }, commit: { path: `/batch/f${i}.txt` } })),
  });
  t.equal(finished.result.entries.length, 10);
  finished.result.entries.forEach((e, i) => {
    t.equal(e['.tag'], 'success');
    const meta = e as unknown as files.FileMetadataReference;
    t.equal(meta.path_display, `/batch/f${i}.txt`);
    t.equal(meta.sharing_info?.modified_by, ids.adminAccount, 'team-folder writes record the author');
  });
  t.equal(h.emu.counters.dataTransportThisMonth(), 3);
  t.same(h.emu.counters.routes, {
    'files/upload_session/start_batch': 1, 'files/upload_session/append_batch': 1, 'files/upload_session/finish_batch_v2': 1,
  });

  // Unclosed session → lookup_failed/not_closed, answered in order next to a success.
  const [open, closed] = (await dbx.filesUploadSessionStartBatch({ num_sessions: 2 })).result.session_ids;
  await dbx.filesUploadSessionAppendBatch({
    entries: [{ cursor: { session_id: open!, offset: 0 }, length: 1 }, { cursor: { session_id: closed!, offset: 0 }, length: 1, close: true }],
    contents: Buffer.from('ab'),
  });
  const mixed = await dbx.filesUploadSessionFinishBatchV2({
    entries: [
      { cursor: { session_id: open!, offset: 1 }, commit: { path: '/open.txt' } },
      { cursor: { session_id: closed!, offset: 1 }, commit: { path: '/closed.txt' } },
    ],
  });
  t.same(mixed.result.entries[0], { '.tag': 'failure', failure: { '.tag': 'lookup_failed', lookup_failed: { '.tag': 'not_closed' } } });
  t.equal(mixed.result.entries[1]!['.tag'], 'success');

  const lengthMismatch = await rejection(() => dbx.filesUploadSessionAppendBatch({ entries: [{ cursor: { session_id: open!, offset: 1 }, length: 5 }], contents: Buffer.from('ab') }));
  t.same(lengthMismatch.error.error, { '.tag': 'length_mismatch' });
  const badOffset = await dbx.filesUploadSessionAppendBatch({ entries: [{ cursor: { session_id: open!, offset: 0 }, length: 2 }], contents: Buffer.from('ab') });
  t.same(badOffset.result.entries, [{ '.tag': 'failure', failure: { '.tag': 'incorrect_offset', correct_offset: 1 } }]);
});

t.test('delete_v2, move_v2 and restore through the SDK', async (t) => {
  let member = '';
  const h = await harness(t, {}, (emu) => {
    const m = emu.state.addMember({ email: 'r@x.test', admin: true });
    member = m.teamMemberId;
    emu.state.putFile(m, '/docs/a.txt', 'v1');
    emu.state.putFile(m, '/docs/a.txt', 'v2');
  });
  const dbx = h.asUser(member);
  const revs = (await dbx.filesListRevisions({ path: '/docs/a.txt' })).result.entries;
  t.equal(revs.length, 2);
  const restored = await dbx.filesRestore({ path: '/docs/a.txt', rev: revs[1]!.rev });
  t.equal(h.emu.state.readFile(member, '/docs/a.txt').toString(), 'v1');
  t.not(restored.result.rev, revs[0]!.rev);

  const moved = await dbx.filesMoveV2({ from_path: '/docs', to_path: '/Archive/docs' });
  t.equal(moved.result.metadata.path_display, '/Archive/docs');
  t.equal(h.emu.state.readFile(member, '/archive/docs/a.txt').toString(), 'v1');
  const into = await rejection(() => dbx.filesMoveV2({ from_path: '/Archive', to_path: '/Archive/inner' }));
  t.same(into.error.error, { '.tag': 'cant_move_folder_into_itself' });

  const del = await dbx.filesDeleteV2({ path: '/Archive/docs/a.txt' });
  t.equal(del.result.metadata['.tag'], 'file');
  const again = await rejection(() => dbx.filesDeleteV2({ path: '/Archive/docs/a.txt' }));
  t.same(again.error.error, { '.tag': 'path_lookup', path_lookup: { '.tag': 'not_found' } });
  const history = await dbx.filesListRevisions({ path: '/Archive/docs/a.txt' });
  t.equal(history.result.is_deleted, true);
  t.equal(history.result.entries.length, 3);
});
