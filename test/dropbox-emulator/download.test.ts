import t from 'tap';
import yauzl from 'yauzl';
import type { files } from 'dropbox';
import { harness, rejection } from './sdk-harness.ts';

const MiB = 1024 * 1024;

/** Reads every entry of a zip buffer: name → contents ('' for directories). */
function unzip(buf: Buffer): Promise<Map<string, string>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buf, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      const out = new Map<string, string>();
      zip.on('entry', (entry: yauzl.Entry) => {
        if (entry.fileName.endsWith('/')) { out.set(entry.fileName, ''); zip.readEntry(); return; }
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e);
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => { out.set(entry.fileName, Buffer.concat(chunks).toString('utf8')); zip.readEntry(); });
        });
      });
      zip.on('end', () => resolve(out));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

t.test('content_hash vectors from docs/dropbox.md §4, computed by the emulator', async (t) => {
  let member = '';
  const h = await harness(t, {}, (emu) => { member = emu.state.addMember({ email: 'h@x.test', admin: true }).teamMemberId; });
  const dbx = h.asUser(member);
  const vectors: Array<[string, Buffer, string]> = [
    ['/hello.txt', Buffer.from('hello'), '9595c9df90075148eb06860365df33584b75bff782a510c6cd4883a419833d50'],
    ['/zeros-4m.bin', Buffer.alloc(4 * MiB), 'c7e946d101855255d919ef0c70718633adf77d3dfb3adeeecf5d0cb4e951be58'],
    ['/zeros-4m1.bin', Buffer.alloc(4 * MiB + 1), '14a4d47f23a30177885d9820122f17d2d3a55fe63f7f5c27b95f689e0b2accd6'],
    ['/a-10m.bin', Buffer.alloc(10 * MiB, 'a'), '576f896dca27a476b9c9429b4cc02588f94d59603c16dfce30ae58066da2ad55'],
    ['/empty.bin', Buffer.alloc(0), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  ];
  for (const [path, bytes, hash] of vectors) {
    const up = await dbx.filesUpload({ path, contents: bytes, mode: { '.tag': 'add' } });
    t.equal(up.result.content_hash, hash, path);
    t.equal(up.result.size, bytes.length);
  }
  const dl = await dbx.filesDownload({ path: '/a-10m.bin' });
  const binary = (dl.result as unknown as { fileBinary: Buffer }).fileBinary;
  t.equal(binary.length, 10 * MiB);
  t.equal(dl.result.content_hash, '576f896dca27a476b9c9429b4cc02588f94d59603c16dfce30ae58066da2ad55');
  t.equal(h.emu.counters.bytesDownloaded, 10 * MiB);
});

t.test('download: Range, rev:, unicode header escaping, GET with ?arg', async (t) => {
  let ids: Record<string, string> = {};
  const h = await harness(t, {}, (emu) => {
    const m = emu.state.addMember({ email: 'd@x.test', admin: true });
    const old = emu.state.putFile(m, '/Ünïcode/naïve café.txt', 'first version');
    ids = { member: m.teamMemberId, oldRev: old.revisions[0]!.rev };
    emu.state.putFile(m, '/Ünïcode/naïve café.txt', '0123456789abcdef');
  });
  const dbx = h.asUser(ids.member!);
  const full = await dbx.filesDownload({ path: '/Ünïcode/naïve café.txt' });
  t.equal(full.result.name, 'naïve café.txt');
  t.equal(full.result.path_display, '/Ünïcode/naïve café.txt');
  t.equal((full.result as unknown as { fileBinary: Buffer }).fileBinary.toString(), '0123456789abcdef');

  const ranged = await dbx.filesDownload({ path: '/Ünïcode/naïve café.txt' }, { extraHeaders: { Range: 'bytes=2-5' } } as never);
  t.equal(ranged.status, 206);
  t.equal((ranged.result as unknown as { fileBinary: Buffer }).fileBinary.toString(), '2345');
  t.equal(ranged.headers.get('content-range'), 'bytes 2-5/16');

  const old = await dbx.filesDownload({ path: `rev:${ids.oldRev}` });
  t.equal((old.result as unknown as { fileBinary: Buffer }).fileBinary.toString(), 'first version');
  t.equal(old.result.rev, ids.oldRev);

  // Raw wire check: the SDK escapes non-ASCII in Dropbox-API-Arg; the emulator escapes Dropbox-API-Result.
  await h.team.teamGetInfo();
  const token = h.auth.getAccessToken();
  const raw = await h.fetch(`https://content.dropboxapi.com/2/files/download?arg=${encodeURIComponent(JSON.stringify({ path: '/Ünïcode/naïve café.txt' }))}`, {
    method: 'GET', headers: { Authorization: `Bearer ${token}`, 'Dropbox-API-Select-User': ids.member!, Range: 'bytes=-3' },
  });
  t.equal(raw.status, 206);
  t.equal(await raw.text(), 'def');
  const header = raw.headers.get('dropbox-api-result')!;
  t.match(header, /"name":"na\\u00efve caf\\u00e9\.txt"/);
  t.ok(/^[\x20-\x7e]*$/.test(header), 'header is pure ASCII');
  t.match(raw.headers.get('x-dropbox-request-id'), /^[0-9a-f]{32}$/);

  const missing = await rejection(() => dbx.filesDownload({ path: '/Ünïcode' }));
  t.same(missing.error.error, { '.tag': 'path', path: { '.tag': 'not_file' } });

  const revs = await dbx.filesListRevisions({ path: '/Ünïcode/naïve café.txt' });
  t.equal(revs.result.is_deleted, false);
  t.same(revs.result.entries.map((e) => e.size), [16, 13]);
  t.equal(revs.result.entries[1]!.rev, ids.oldRev);
});

t.test('download_zip: contents under the folder name, limits', async (t) => {
  let member = '';
  const h = await harness(t, {}, (emu) => {
    const m = emu.state.addMember({ email: 'z@x.test', admin: true });
    member = m.teamMemberId;
    emu.state.putFile(m, '/Photos/a.txt', 'A');
    emu.state.putFile(m, '/Photos/2024/b.txt', 'BB');
    emu.state.putFile(m, '/Photos/2024/Ünï.txt', 'unicode');
    emu.state.mkdir(m, '/Photos/empty');
    emu.state.putFile(m, '/Other/c.txt', 'C');
    // 9,998 files + the top folder = 9,999 entries: the most a zip may have ("fewer than 10,000 … including the top level folder").
    for (let i = 0; i < 9_998; i++) emu.state.putFile(m, `/Big/f${i}.txt`, String(i));
  });
  const dbx = h.asUser(member);
  const res = await dbx.filesDownloadZip({ path: '/photos' });
  t.equal(res.result.metadata.name, 'Photos');
  const zip = await unzip((res.result as unknown as { fileBinary: Buffer }).fileBinary);
  t.same([...zip.entries()].sort(), [
    ['Photos/', ''], ['Photos/2024/', ''], ['Photos/2024/b.txt', 'BB'], ['Photos/2024/Ünï.txt', 'unicode'], ['Photos/a.txt', 'A'], ['Photos/empty/', ''],
  ].sort());

  const most = await dbx.filesDownloadZip({ path: '/Big' });
  t.equal((await unzip((most.result as unknown as { fileBinary: Buffer }).fileBinary)).size, 9_999, '9,998 files and the top folder: zipped');
  h.emu.state.putFile(member, '/Big/one-more.txt', 'x');
  const tooMany = await rejection(() => dbx.filesDownloadZip({ path: '/Big' }));
  t.equal(tooMany.status, 409);
  t.same(tooMany.error.error, { '.tag': 'too_many_files' }, '9,999 files and the top folder: 10,000 entries, refused');

  const notFolder = await rejection(() => dbx.filesDownloadZip({ path: '/Other/c.txt' }));
  t.same(notFolder.error.error, { '.tag': 'path', path: { '.tag': 'not_folder' } });
  h.emu.state.limits.zipMaxBytes = 3;
  const tooLarge = await rejection(() => dbx.filesDownloadZip({ path: '/Photos' }));
  t.same(tooLarge.error.error, { '.tag': 'too_large' }, 'the folder is too large');
});

t.test('download_zip: a file of 4 GB or more is too large, whatever the folder', async (t) => {
  let member = '';
  const h = await harness(t, {}, (emu) => {
    const m = emu.state.addMember({ email: 'z@x.test', admin: true });
    member = m.teamMemberId;
    emu.state.putFile(m, '/Videos/small.txt', 'A');
    emu.state.putFile(m, '/Videos/film.bin', 'x'.repeat(40));
  });
  t.equal(h.emu.state.limits.zipMaxFileBytes, 4 * 1024 ** 3, 'the documented 4 GB by default');
  const dbx = h.asUser(member);
  h.emu.state.limits.zipMaxFileBytes = 41; // the test's stand-in for 4 GB
  t.equal((await dbx.filesDownloadZip({ path: '/Videos' })).status, 200, 'every file under the limit');
  h.emu.state.limits.zipMaxFileBytes = 40;
  const tooLarge = await rejection(() => dbx.filesDownloadZip({ path: '/Videos' }));
  t.equal(tooLarge.status, 409);
  t.same(tooLarge.error.error, { '.tag': 'too_large' }, 'one file at the limit, the folder well under its own');
});

t.test('download_zip: the namespace root is refused (its path is a ReadPath, which cannot be "")', async (t) => {
  let member = '';
  let nsId = '';
  const h = await harness(t, {}, (emu) => {
    const m = emu.state.addMember({ email: 'z@x.test', admin: true });
    member = m.teamMemberId;
    nsId = m.homeNsId;
    emu.state.putFile(m, '/top.txt', 'at the root');
    emu.state.putFile(m, '/Docs/a.txt', 'A');
  });
  const root = await rejection(() => h.asUser(member).filesDownloadZip({ path: '' }));
  t.equal(root.status, 400);
  t.equal(root.error, `Error in call to API function "files/download_zip": request body: path: '' did not match pattern '(/(.|[\\r\\n])*|id:.*)|(rev:[0-9a-f]{9,})|(ns:[0-9]+(/.*)?)'`);
  const asAdmin = await rejection(() => h.asAdmin(member, nsId).filesDownloadZip({ path: '' }));
  t.equal(asAdmin.status, 400, 'with Dropbox-API-Path-Root naming the namespace too');
  const byNs = await rejection(() => h.asUser(member).filesDownloadZip({ path: `ns:${nsId}` }));
  t.equal(byNs.status, 409);
  t.same(byNs.error.error, { '.tag': 'path', path: { '.tag': 'not_found' } }, 'the root by ns: is refused too (conservative)');
  t.equal((await h.asAdmin(member, nsId).filesDownloadZip({ path: '/Docs' })).status, 200, 'a top-level folder is fine');
});

t.test('get_metadata on a file has the documented FileMetadata shape', async (t) => {
  let member = '';
  const h = await harness(t, { clock: () => Date.parse('2026-05-06T07:08:09.456Z') }, (emu) => {
    const m = emu.state.addMember({ email: 'g@x.test', admin: true });
    member = m.teamMemberId;
    emu.state.putFile(m, '/Report.PDF', 'pdf', { clientModified: '2020-01-02T03:04:05Z' });
  });
  const meta = (await h.asUser(member).filesGetMetadata({ path: '/report.pdf' })).result as files.FileMetadataReference;
  t.same(Object.keys(meta), ['.tag', 'name', 'path_lower', 'path_display', 'id', 'client_modified', 'server_modified', 'rev', 'size', 'is_downloadable', 'content_hash']);
  t.equal(meta.name, 'Report.PDF');
  t.equal(meta.path_lower, '/report.pdf');
  t.equal(meta.client_modified, '2020-01-02T03:04:05Z');
  t.equal(meta.server_modified, '2026-05-06T07:08:09Z');
});
