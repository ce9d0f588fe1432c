// The SDK's own large-file helpers (uploadFile / downloadFile, dropbox@10.47) against the emulator, with faults they must survive.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uploadFile, bytesUpload, downloadFile } from 'dropbox';
import { harness } from './sdk-harness.ts';
import { dropboxContentHash } from './content-hash.ts';

const MiB = 1024 * 1024;

t.test('uploadFile (concurrent session) and downloadFile (parallel Range) survive injected faults', async (t) => {
  let member = '';
  const h = await harness(t, {}, (emu) => { member = emu.state.addMember({ email: 'big@x.test', admin: true }).teamMemberId; });
  const dbx = h.asUser(member);
  const data = Buffer.alloc(20 * MiB + 5);
  for (let i = 0; i < data.length; i += 1000) data[i] = (i / 1000) % 256;

  h.emu.faults.add({ route: 'files/upload_session/append_v2', kind: '503' });
  h.emu.faults.add({ route: 'files/upload_session/append_v2', kind: '429-json', retryAfter: 0 });
  const up = await uploadFile(dbx, bytesUpload(data), { path: '/big/data.bin', mode: { '.tag': 'overwrite' } }, { chunkSize: 8 * MiB, parallelUploads: 3, retryDelay: 1 });
  t.equal(up.metadata.size, data.length);
  t.equal(up.metadata.content_hash, dropboxContentHash(data));
  t.equal(h.emu.counters.routes['files/upload_session/start'], 1);
  t.equal(h.emu.counters.routes['files/upload_session/append_v2'], 5, '3 chunks + 2 retried');
  t.equal(h.emu.counters.routes['files/upload_session/finish'], 1);

  const dir = mkdtempSync(join(tmpdir(), 'dropbox-emu-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  h.emu.faults.add({ route: 'files/download', kind: 'truncate' });
  const local = join(dir, 'data.bin');
  const down = await downloadFile(dbx, '/big/data.bin', local, { parallelDownloads: 4, retryDelay: 1 } as never);
  t.ok(readFileSync(local).equals(data), 'downloaded bytes match');
  t.equal((down as unknown as { metadata: { rev: string } }).metadata.rev, h.emu.state.getEntry(member, '/big/data.bin')!.revisions[0]!.rev);
  t.equal(h.emu.faults.rules.length, 0, 'the truncate fault was hit and retried');
});
