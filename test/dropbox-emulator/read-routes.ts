// files/get_metadata, files/list_revisions, files/download (Range), files/download_zip (zip-writer.ts, streamed; yazl for zip64).
import yazl from 'yazl';
import { fitsWithoutZip64, storedZipSize, writeStoredZip, type ZipInput } from './zip-writer.ts';
import { ApiError, nest, routeError, tag, type UnionValue } from './api-error.ts';
import { SENT, headerSafeJson, streamBytes, type CallContext, type RouteSpec } from './call-context.ts';
import { entryMetadata, fileMetadata, folderMetadata, deletedMetadata } from './metadata.ts';
import { resolvePath } from './paths.ts';
import { latestRevision } from './state.ts';
import { dropboxContentHash } from './content-hash.ts';

const wrapPath = (e: UnionValue) => routeError(nest('path', e));

function getMetadata(ctx: CallContext): unknown {
  const loc = resolvePath(ctx, ctx.arg?.path, wrapPath);
  if (loc.revision) return fileMetadata(loc.ns, loc.revision.entry, loc.revision.revision);
  if (loc.pathLower === '') throw wrapPath(tag('not_found')); // "Metadata for the root folder is unsupported"
  const entry = loc.ns.tree.get(loc.pathLower);
  if (entry) return entryMetadata(loc.ns, entry);
  if (ctx.arg?.include_deleted === true && (loc.ns.tree.deletedFiles.has(loc.pathLower) || loc.ns.tree.goneDisplay.has(loc.pathLower))) {
    return deletedMetadata(loc.ns, loc.pathLower);
  }
  throw wrapPath(tag('not_found'));
}

function listRevisions(ctx: CallContext): unknown {
  const a = ctx.arg ?? {};
  const limit = a.limit ?? 10;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new ApiError(400, `Error in call to API function "${ctx.route}": request body: limit: out of range`);
  const loc = resolvePath(ctx, a.path, wrapPath);
  const live = loc.ns.tree.get(loc.pathLower);
  if (live?.kind === 'folder') throw wrapPath(tag('not_file'));
  const gone = loc.ns.tree.deletedFiles.get(loc.pathLower);
  const entry = live ?? gone?.entry;
  if (!entry) throw wrapPath(tag('not_found'));
  let revs = [...entry.revisions].reverse();
  if (typeof a.before_rev === 'string') {
    const i = revs.findIndex((r) => r.rev === a.before_rev);
    revs = i < 0 ? [] : revs.slice(i + 1);
  }
  return {
    is_deleted: !live,
    ...(live ? {} : { server_deleted: gone!.deletedAt }),
    entries: revs.slice(0, limit).map((r) => fileMetadata(loc.ns, entry, r, false)),
    has_more: revs.length > limit,
  };
}

/** Parses "bytes=a-b" | "bytes=a-" | "bytes=-n"; undefined = no/unsupported Range → whole body. */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') { start = Math.max(0, size - Number(m[2])); end = size - 1; }
  else { start = Number(m[1]); end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1); }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

async function download(ctx: CallContext): Promise<typeof SENT> {
  const loc = resolvePath(ctx, ctx.arg?.path, wrapPath);
  let entry = loc.revision?.entry;
  let revision = loc.revision?.revision;
  if (!entry) {
    entry = loc.ns.tree.get(loc.pathLower);
    if (!entry) throw wrapPath(tag('not_found'));
    if (entry.kind !== 'file') throw wrapPath(tag('not_file'));
    revision = latestRevision(entry);
  }
  // Paper and Google Docs: "use export" (DownloadError.unsupported_file).
  if (revision!.exportAs) throw routeError(tag('unsupported_file'));
  const meta = fileMetadata(loc.ns, entry, revision, false);
  const bytes = revision!.bytes;
  const headers: Record<string, string> = {
    'Content-Type': 'application/octet-stream',
    'Dropbox-API-Result': headerSafeJson(meta),
    ETag: `W/"${revision!.rev}"`,
    'Accept-Ranges': 'bytes',
  };
  if (ctx.req.headers['if-none-match'] === headers.ETag) {
    ctx.res.writeHead(304, headers).end();
    return SENT;
  }
  const range = parseRange(ctx.req.headers.range, bytes.length);
  if (range === 'unsatisfiable') {
    ctx.res.writeHead(416, { 'Content-Range': `bytes */${bytes.length}`, 'Content-Type': 'text/plain' }).end('Requested Range Not Satisfiable');
    return SENT;
  }
  const body = range ? bytes.subarray(range.start, range.end + 1) : bytes;
  if (range) headers['Content-Range'] = `bytes ${range.start}-${range.end}/${bytes.length}`;
  ctx.core.counters.bytesDownloaded += body.length;
  await streamBytes(ctx, range ? 206 : 200, headers, body);
  return SENT;
}

// DownloadZipArg.path is a ReadPath (SDK types/dropbox_types.d.ts), whose pattern in the API spec
// (files.stone) has no empty alternative, unlike list_folder's PathR: "" fails argument validation.
const READ_PATH_PATTERN = '(/(.|[\\r\\n])*|id:.*)|(rev:[0-9a-f]{9,})|(ns:[0-9]+(/.*)?)';

/** The rules and their sources are in README.md, "download_zip". */
async function downloadZip(ctx: CallContext): Promise<typeof SENT> {
  if (ctx.arg?.path === '') {
    throw new ApiError(400, `Error in call to API function "${ctx.route}": request body: path: '' did not match pattern '${READ_PATH_PATTERN}'`);
  }
  const loc = resolvePath(ctx, ctx.arg?.path, wrapPath);
  if (loc.revision) throw wrapPath(tag('not_folder'));
  // A namespace root reached another way (`ns:<id>`) is refused too: unknown on real Dropbox, so
  // the emulator takes the conservative side (no client may rely on zipping a root).
  if (loc.pathLower === '') throw wrapPath(tag('not_found'));
  const tree = loc.ns.tree;
  const folder = tree.get(loc.pathLower);
  if (!folder) throw wrapPath(tag('not_found'));
  if (folder.kind !== 'folder') throw wrapPath(tag('not_folder'));
  const items = tree.descendants(loc.pathLower);
  const limits = ctx.core.state.limits;
  // "fewer than 10,000 total file and folder entries, including the top level folder".
  if (items.length + 1 >= limits.zipMaxFiles) throw routeError(tag('too_many_files'));
  let total = 0;
  for (const e of items) {
    if (e.kind !== 'file') continue;
    const size = latestRevision(e).size;
    // "any single file within must be less than 4 GB"; DownloadZipError.too_large is "The folder or a file is too large".
    if (size >= limits.zipMaxFileBytes) throw routeError(tag('too_large'));
    total += size;
  }
  if (total >= limits.zipMaxBytes) throw routeError(tag('too_large'));

  // Entries live under the folder's own name, e.g. "Photos/2024/a.jpg".
  const rootName = folder.name;
  const prefixLen = folder.pathDisplay.length;
  const meta = folderMetadata(loc.ns, folder, false);
  const entries: ZipInput[] = [{ name: rootName + '/', mtime: new Date() }];
  for (const e of items) {
    const rel = rootName + e.pathDisplay.slice(prefixLen);
    if (e.kind === 'folder') entries.push({ name: rel + '/', mtime: new Date() });
    else {
      const r = latestRevision(e);
      // A zip carries files as they are; exportable-only documents are left out.
      if (!r.exportAs) entries.push({ name: rel, bytes: r.bytes, mtime: new Date(r.serverModified) });
    }
  }
  const counted = (n: number) => {
    ctx.core.counters.bytesDownloaded += n;
  };
  if (fitsWithoutZip64(entries)) {
    ctx.res.writeHead(200, { 'Content-Type': 'application/zip', 'Content-Length': storedZipSize(entries), 'Dropbox-API-Result': headerSafeJson({ metadata: meta }) });
    try {
      await writeStoredZip(ctx.res, entries, counted);
      ctx.res.end();
    } catch {
      // The client went away mid-archive: nothing left to answer.
    }
    return SENT;
  }
  ctx.res.writeHead(200, { 'Content-Type': 'application/zip', 'Dropbox-API-Result': headerSafeJson({ metadata: meta }) });
  const zip = new yazl.ZipFile();
  for (const e of entries) {
    if (e.bytes) zip.addBuffer(e.bytes, e.name, { mtime: e.mtime, compress: false });
    else zip.addEmptyDirectory(e.name, { mtime: e.mtime });
  }
  zip.end();
  zip.outputStream.on('data', (c: Buffer) => counted(c.length));
  zip.outputStream.pipe(ctx.res);
  await new Promise<void>((resolve) => ctx.res.on('close', () => resolve()));
  return SENT;
}

/** files/export: a non-downloadable file in its export format (ExportArg / ExportResult, files.stone). */
async function exportFile(ctx: CallContext): Promise<typeof SENT> {
  const loc = resolvePath(ctx, ctx.arg?.path, wrapPath);
  const entry = loc.revision?.entry ?? loc.ns.tree.get(loc.pathLower);
  if (!entry) throw wrapPath(tag('not_found'));
  if (entry.kind !== 'file') throw wrapPath(tag('not_file'));
  const revision = loc.revision?.revision ?? latestRevision(entry);
  if (!revision.exportAs) throw routeError(tag('non_exportable'));
  const format = ctx.arg?.export_format;
  if (format !== undefined && format !== revision.exportAs) throw routeError(tag('invalid_export_format'));
  const bytes = revision.exportBytes ?? Buffer.alloc(0);
  const result = {
    export_metadata: { name: `${entry.name}.${revision.exportAs}`, size: bytes.length, export_hash: dropboxContentHash(bytes) },
    file_metadata: fileMetadata(loc.ns, entry, revision, false),
  };
  ctx.core.counters.bytesDownloaded += bytes.length;
  await streamBytes(ctx, 200, { 'Content-Type': 'application/octet-stream', 'Dropbox-API-Result': headerSafeJson(result) }, bytes);
  return SENT;
}

export const readRoutes: Record<string, RouteSpec> = {
  'files/export': { style: 'download', auth: 'user', handler: exportFile },
  'files/get_metadata': { style: 'rpc', auth: 'user', handler: getMetadata },
  'files/list_revisions': { style: 'rpc', auth: 'user', handler: listRevisions },
  'files/download': { style: 'download', auth: 'user', handler: download },
  'files/download_zip': { style: 'download', auth: 'user', handler: downloadZip },
};
