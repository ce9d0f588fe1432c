// files/upload and the upload_session family (start, start_batch, append, append_v2, append_batch, finish, finish_batch_v2).
import { ApiError, nest, routeError, tag, type UnionValue } from './api-error.ts';
import type { CallContext, RouteSpec } from './call-context.ts';
import { commitFile, modeIsValid, type CommitOutcome } from './commit.ts';
import { dropboxContentHash } from './content-hash.ts';
import { CONCURRENT_BLOCK, type UploadSession } from './upload-sessions.ts';

function bad(ctx: CallContext, msg: string): ApiError {
  return new ApiError(400, `Error in call to API function "${ctx.route}": ${msg}`);
}

function checkCommitArg(ctx: CallContext, commit: unknown): Record<string, unknown> {
  if (typeof commit !== 'object' || commit === null) throw bad(ctx, 'request body: commit: missing');
  const c = commit as Record<string, unknown>;
  if (typeof c.path !== 'string') throw bad(ctx, 'request body: path: missing required field');
  if (!modeIsValid(c.mode)) throw bad(ctx, 'request body: mode: unknown tag or missing value');
  if (c.client_modified !== undefined && (typeof c.client_modified !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(c.client_modified))) {
    throw bad(ctx, `request body: client_modified: time data '${String(c.client_modified)}' does not match format '%Y-%m-%dT%H:%M:%SZ'`);
  }
  return c;
}

/** Checks an optional content_hash over `data`; Dropbox reports a mismatch as a 409 route error. */
function checkHash(expected: unknown, data: Buffer): void {
  if (typeof expected === 'string' && expected !== dropboxContentHash(data)) throw routeError(tag('content_hash_mismatch'));
}

function countUploaded(ctx: CallContext): void {
  ctx.core.counters.bytesUploaded += ctx.body.length;
}

function upload(ctx: CallContext): unknown {
  const arg = checkCommitArg(ctx, ctx.arg);
  countUploaded(ctx);
  checkHash(arg.content_hash, ctx.body);
  const out = commitFile(ctx, arg, ctx.body);
  if ('ok' in out) return out.ok;
  // UploadWriteFailed is a struct: its fields sit next to the tag.
  throw routeError({ '.tag': 'path', reason: out.error, upload_session_id: '' });
}

/** Applies one append; returns an UploadSessionLookupError value on failure. */
function appendTo(s: UploadSession | undefined, offset: unknown, data: Buffer, close: boolean): UnionValue | undefined {
  if (!s) return tag('not_found');
  if (typeof offset !== 'number') return tag('not_found');
  if (s.type === 'sequential') {
    if (s.closed) return tag('closed');
    if (offset !== s.offset) return tag('incorrect_offset', { correct_offset: s.offset });
    if (data.length) s.chunks.push(data);
    s.offset += data.length;
  } else {
    // Parallel appends may still fill gaps below the closing piece.
    if (s.closedLength !== undefined && (close || offset + data.length > s.closedLength)) return tag('closed');
    if (offset % CONCURRENT_BLOCK !== 0) return tag('concurrent_session_invalid_offset');
    if (!close && data.length % CONCURRENT_BLOCK !== 0) return tag('concurrent_session_invalid_data_size');
    s.pieces.set(offset, data);
    s.offset = Math.max(s.offset, offset + data.length);
    if (close) s.closedLength = offset + data.length;
  }
  if (close) s.closed = true;
  return undefined;
}

function sessionType(ctx: CallContext, raw: unknown): 'sequential' | 'concurrent' {
  const t = typeof raw === 'string' ? raw : (raw as { '.tag'?: string } | undefined)?.['.tag'];
  if (t === undefined || t === 'sequential') return 'sequential';
  if (t === 'concurrent') return 'concurrent';
  throw bad(ctx, 'request body: session_type: unknown tag');
}

function start(ctx: CallContext): unknown {
  const a = ctx.arg ?? {};
  const type = sessionType(ctx, a.session_type);
  countUploaded(ctx);
  if (type === 'concurrent' && ctx.body.length > 0) throw routeError(tag('concurrent_session_data_not_allowed'));
  checkHash(a.content_hash, ctx.body);
  const s = ctx.core.sessions.create(type);
  appendTo(s, 0, ctx.body, a.close === true);
  return { session_id: s.id };
}

function startBatch(ctx: CallContext): unknown {
  const a = ctx.arg ?? {};
  const n = a.num_sessions;
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw bad(ctx, 'request body: num_sessions: not within range [1, 1000]');
  const type = sessionType(ctx, a.session_type);
  return { session_ids: Array.from({ length: n }, () => ctx.core.sessions.create(type).id) };
}

function appendV2(ctx: CallContext, cursor: { session_id?: unknown; offset?: unknown } | undefined, close: boolean): null {
  countUploaded(ctx);
  checkHash(ctx.arg?.content_hash, ctx.body);
  const err = appendTo(ctx.core.sessions.get(cursor?.session_id), cursor?.offset, ctx.body, close);
  if (err) throw routeError(err);
  return null;
}

function appendBatch(ctx: CallContext): unknown {
  const entries = ctx.arg?.entries;
  if (!Array.isArray(entries) || entries.length > 1000) throw bad(ctx, 'request body: entries: expected a list of at most 1000 items');
  countUploaded(ctx);
  const total = entries.reduce((n: number, e: { length?: unknown }) => n + (typeof e.length === 'number' ? e.length : NaN), 0);
  if (total !== ctx.body.length) throw routeError(tag('length_mismatch'));
  checkHash(ctx.arg.content_hash, ctx.body);
  let pos = 0;
  const results = entries.map((e: { cursor?: { session_id?: unknown; offset?: unknown }; length: number; close?: boolean }) => {
    const piece = ctx.body.subarray(pos, pos + e.length);
    pos += e.length;
    const err = appendTo(ctx.core.sessions.get(e.cursor?.session_id), e.cursor?.offset, piece, e.close === true);
    return err ? nest('failure', err) : tag('success');
  });
  return { entries: results };
}

/** Shared by finish and finish_batch_v2. `data` = bytes sent with the finish call itself. */
function finishOne(ctx: CallContext, entry: Record<string, unknown>, data: Buffer, requireClosed: boolean): CommitOutcome | { lookup: UnionValue } | { other: UnionValue } {
  const cursor = (entry.cursor ?? {}) as { session_id?: unknown; offset?: unknown };
  const commit = checkCommitArg(ctx, entry.commit);
  const s = ctx.core.sessions.get(cursor.session_id);
  if (!s) return { lookup: tag('not_found') };
  if (s.type === 'concurrent') {
    if (data.length > 0) return { other: tag('concurrent_session_data_not_allowed') };
    if (!s.closed) return { other: tag('concurrent_session_not_closed') };
  } else {
    if (requireClosed && !s.closed) return { lookup: tag('not_closed') };
    if (cursor.offset !== s.offset) return { lookup: tag('incorrect_offset', { correct_offset: s.offset }) };
    if (data.length > 0) {
      if (s.closed) return { lookup: tag('closed') };
      appendTo(s, s.offset, data, false);
    }
  }
  const bytes = ctx.core.sessions.assemble(s);
  if (!Buffer.isBuffer(bytes)) return { other: tag('concurrent_session_missing_data') };
  if (s.type === 'concurrent' && cursor.offset !== bytes.length) return { lookup: tag('incorrect_offset', { correct_offset: bytes.length }) };
  if (typeof entry.content_hash === 'string' && entry.content_hash !== dropboxContentHash(requireClosed ? bytes : data)) return { other: tag('content_hash_mismatch') };
  const out = commitFile(ctx, commit, bytes);
  if ('ok' in out) ctx.core.sessions.delete(s.id);
  return out;
}

function finishErrorValue(out: { lookup: UnionValue } | { other: UnionValue } | { error: UnionValue }): UnionValue {
  if ('lookup' in out) return nest('lookup_failed', out.lookup);
  if ('other' in out) return out.other;
  return nest('path', out.error);
}

function finish(ctx: CallContext): unknown {
  countUploaded(ctx);
  const out = finishOne(ctx, ctx.arg ?? {}, ctx.body, false);
  if ('ok' in out) return out.ok;
  throw routeError(finishErrorValue(out));
}

function finishBatchV2(ctx: CallContext): unknown {
  const entries = ctx.arg?.entries;
  if (!Array.isArray(entries) || entries.length > 1000) throw bad(ctx, 'request body: entries: expected a list of at most 1000 items');
  return {
    entries: entries.map((e: Record<string, unknown>) => {
      const out = finishOne(ctx, e, Buffer.alloc(0), true);
      // Success is FileMetadata (struct → flattened); failure is a union (→ nested under "failure").
      return 'ok' in out ? { '.tag': 'success', ...out.ok } : nest('failure', finishErrorValue(out));
    }),
  };
}

export const uploadRoutes: Record<string, RouteSpec> = {
  'files/upload': { style: 'upload', auth: 'user', handler: upload },
  'files/upload_session/start': { style: 'upload', auth: 'user', handler: start },
  'files/upload_session/start_batch': { style: 'rpc', auth: 'user', handler: startBatch },
  'files/upload_session/append': { style: 'upload', auth: 'user', handler: (ctx) => appendV2(ctx, ctx.arg ?? undefined, false) },
  'files/upload_session/append_v2': { style: 'upload', auth: 'user', handler: (ctx) => appendV2(ctx, ctx.arg?.cursor, ctx.arg?.close === true) },
  'files/upload_session/append_batch': { style: 'upload', auth: 'user', handler: appendBatch },
  'files/upload_session/finish': { style: 'upload', auth: 'user', handler: finish },
  'files/upload_session/finish_batch_v2': { style: 'rpc', auth: 'user', handler: finishBatchV2 },
};
