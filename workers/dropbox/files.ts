// File reads for backup: recursive listing of one namespace as the team admin (list_folder /
// continue, with `reset` surfaced as ListingResetError) and streaming downloads. Downloads go
// straight through fetch (the SDK's filesDownload buffers whole files in memory) with the same
// retry rules as DropboxTeam.call: 429 after Retry-After, 5xx and broken or truncated bodies with
// back-off, one token refresh on 401 expired/invalid token.
import { createWriteStream, type WriteStream } from 'node:fs';
import type { files } from 'dropbox';
import { DropboxAuthError } from './oauth.ts';
import { DropboxCallError, type CallScope, type DropboxTeam } from './client.ts';
import type { Fetch } from './transport.ts';

export type ListEntry = files.FileMetadataReference | files.FolderMetadataReference | files.DeletedMetadataReference;

export interface ListPage {
  entries: ListEntry[];
  cursor: string;
  hasMore: boolean;
}

/** list_folder/continue answered 409 reset: the cursor is no longer valid, relist from scratch. */
export class ListingResetError extends Error {
  constructor() {
    super('Dropbox invalidated the listing cursor (reset)');
    this.name = 'ListingResetError';
  }
}

export const LIST_LIMIT = 2000;

/** The scope for reading a namespace as the team's admin (Select-Admin + Path-Root). */
export function adminScope(adminMemberId: string, namespaceId: string): CallScope {
  return { selectAdmin: adminMemberId, namespaceId };
}

export async function listFolderStart(team: DropboxTeam, scope: CallScope, limit = LIST_LIMIT): Promise<ListPage> {
  const res = await team.call(
    'files/list_folder',
    (d) => d.filesListFolder({ path: '', recursive: true, include_deleted: false, include_mounted_folders: false, limit }),
    scope,
  );
  return { entries: res.entries as ListEntry[], cursor: res.cursor, hasMore: res.has_more };
}

export async function listFolderContinue(team: DropboxTeam, scope: CallScope, cursor: string): Promise<ListPage> {
  try {
    const res = await team.call('files/list_folder/continue', (d) => d.filesListFolderContinue({ cursor }), scope);
    return { entries: res.entries as ListEntry[], cursor: res.cursor, hasMore: res.has_more };
  } catch (err) {
    if (err instanceof DropboxCallError && err.status === 409 && err.tag === 'reset') throw new ListingResetError();
    throw err;
  }
}

export async function getMetadata(team: DropboxTeam, scope: CallScope, path: string): Promise<ListEntry | null> {
  try {
    return (await team.call('files/get_metadata', (d) => d.filesGetMetadata({ path }), scope)) as ListEntry;
  } catch (err) {
    if (err instanceof DropboxCallError && err.status === 409) return null;
    throw err;
  }
}

export interface DownloadOptions {
  /** The fetch DropboxTeam uses (already rewritten towards COFFER_DROPBOX_API_URL). */
  fetch: Fetch;
  maxAttempts?: number;
  baseDelayMs?: number;
  maxRetryAfterMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** `files/export` for files Dropbox cannot download as they are (Paper, Google Docs): `is_downloadable: false`. */
  route?: 'files/download' | 'files/export';
}

/** Download that failed for good (after retries, or an error retrying cannot fix). */
export class DownloadError extends Error {
  readonly status: number | undefined;
  readonly retryable: boolean;
  constructor(message: string, status: number | undefined, retryable: boolean) {
    super(message);
    this.name = 'DownloadError';
    this.status = status;
    this.retryable = retryable;
  }
}

const CONTENT_ORIGIN = 'https://content.dropboxapi.com/2/';

function headerSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

/**
 * Streams one file. `consume` receives the body and must read it to the end; if the stream breaks
 * (reset, truncated body) the whole attempt is retried with a fresh `consume` call, so `consume`
 * must be restartable (blocks it already stored are harmless: they are deduplicated).
 */
export async function downloadFile<T>(
  team: DropboxTeam,
  scope: CallScope,
  path: string,
  consume: (body: AsyncIterable<Uint8Array>, expectedSize: number | undefined, result: Record<string, unknown> | undefined) => Promise<T>,
  opts: DownloadOptions,
): Promise<T> {
  const route = opts.route ?? 'files/download';
  const maxAttempts = opts.maxAttempts ?? 6;
  const base = opts.baseDelayMs ?? 500;
  const maxRetryAfter = opts.maxRetryAfterMs ?? 5 * 60_000;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let refreshed = false;
  let lastError: unknown;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const token = await team.accessToken(); // DropboxAuthError propagates: reconnect needed
    team.calls.set(route, (team.calls.get(route) ?? 0) + 1);
    const headers: Record<string, string> = {
      authorization: `Bearer ${token}`,
      'dropbox-api-arg': headerSafeJson({ path }),
    };
    if (scope.selectAdmin) headers['dropbox-api-select-admin'] = scope.selectAdmin;
    if (scope.selectUser) headers['dropbox-api-select-user'] = scope.selectUser;
    if (scope.namespaceId) headers['dropbox-api-path-root'] = JSON.stringify({ '.tag': 'namespace_id', namespace_id: scope.namespaceId });
    let res: Response;
    try {
      res = await opts.fetch(CONTENT_ORIGIN + route, { method: 'POST', headers });
    } catch (err) {
      lastError = err;
      await sleep(backoff(base, attempt));
      continue;
    }
    if (res.status === 200 && res.body) {
      const lengthHeader = res.headers.get('content-length');
      const expected = lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
      let result: Record<string, unknown> | undefined;
      try {
        result = JSON.parse(res.headers.get('dropbox-api-result') ?? 'null') ?? undefined;
      } catch {
        result = undefined;
      }
      try {
        return await consume(res.body as unknown as AsyncIterable<Uint8Array>, expected, result);
      } catch (err) {
        if (err instanceof DownloadError && !err.retryable) throw err;
        if (!isStreamFailure(err)) throw err;
        lastError = err;
        await sleep(backoff(base, attempt));
        continue;
      }
    }
    const text = await res.text().catch(() => '');
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // plain text
    }
    if (res.status === 401) {
      const tag = (body as { error?: { '.tag'?: string } } | undefined)?.error?.['.tag'];
      if ((tag === 'expired_access_token' || tag === 'invalid_access_token') && !refreshed) {
        refreshed = true;
        await team.accessToken(true);
        attempt--;
        continue;
      }
      throw new DropboxCallError(route, res.status, body);
    }
    if (res.status === 429) {
      const header = res.headers.get('retry-after');
      const seconds = header && /^\d+$/.test(header) ? Number(header) : ((body as { error?: { retry_after?: number } })?.error?.retry_after ?? 1);
      if (seconds * 1000 > maxRetryAfter) throw new DownloadError(`Dropbox asked to wait ${seconds}s before downloading ${path}`, 429, true);
      lastError = new DropboxCallError(route, 429, body);
      await sleep(seconds * 1000);
      continue;
    }
    if (res.status >= 500) {
      lastError = new DropboxCallError(route, res.status, body);
      await sleep(backoff(base, attempt));
      continue;
    }
    throw new DropboxCallError(route, res.status, body);
  }
  const message = lastError instanceof Error ? lastError.message : String(lastError);
  throw new DownloadError(`download of ${path} failed after ${maxAttempts} attempts: ${message}`, undefined, true);
}

/** A body that ended early or a connection that broke: worth another attempt. */
export class TruncatedBodyError extends Error {
  constructor(got: number, expected: number) {
    super(`download body ended after ${got} of ${expected} bytes`);
    this.name = 'TruncatedBodyError';
  }
}

function isStreamFailure(err: unknown): boolean {
  if (err instanceof TruncatedBodyError) return true;
  if (err instanceof DropboxAuthError) return false;
  if (err instanceof TypeError) return true; // undici: "terminated", "fetch failed"
  const code = (err as { code?: string; cause?: { code?: string } })?.code ?? (err as { cause?: { code?: string } })?.cause?.code;
  return typeof code === 'string' && /^(ECONNRESET|EPIPE|UND_ERR_|ETIMEDOUT|ECONNREFUSED|ABORT_ERR)/.test(code);
}

function backoff(base: number, attempt: number): number {
  return Math.floor(Math.random() * Math.min(30_000, base * 2 ** (attempt - 1)));
}

/** The zip in memory (`buffer`), or in the file `dest` when it outgrew `memoryBytes`. */
export type ZipDownload = { ok: true; bytes: number; buffer: Buffer | null } | { ok: false; reason: string };

/**
 * files/download_zip of a folder ('' = the namespace root). A zip up to `memoryBytes` stays in
 * memory; a bigger one is spilled to `dest` as it arrives. Gives up (ok: false) when Dropbox refuses
 * the folder (too_many_files: ≥ 10,000 entries; too_large: ≥ 20 GB), when the zip grows past
 * `maxBytes`, or on any transport error: the caller then downloads file by file.
 */
export async function downloadZip(team: DropboxTeam, scope: CallScope, path: string, dest: string, limits: { maxBytes: number; memoryBytes: number }, fetchFn: Fetch): Promise<ZipDownload> {
  const { maxBytes, memoryBytes } = limits;
  const token = await team.accessToken();
  team.calls.set('files/download_zip', (team.calls.get('files/download_zip') ?? 0) + 1);
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, 'dropbox-api-arg': headerSafeJson({ path }) };
  if (scope.selectAdmin) headers['dropbox-api-select-admin'] = scope.selectAdmin;
  if (scope.selectUser) headers['dropbox-api-select-user'] = scope.selectUser;
  if (scope.namespaceId) headers['dropbox-api-path-root'] = JSON.stringify({ '.tag': 'namespace_id', namespace_id: scope.namespaceId });
  let res: Response;
  try {
    res = await fetchFn('https://content.dropboxapi.com/2/files/download_zip', { method: 'POST', headers });
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message : String(err) };
  }
  if (res.status !== 200 || !res.body) {
    const text = await res.text().catch(() => '');
    return { ok: false, reason: `HTTP ${res.status} ${text.slice(0, 200)}` };
  }
  const length = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(length) && length > maxBytes) {
    await res.body.cancel().catch(() => {});
    return { ok: false, reason: `zip of ${length} bytes is over the ${maxBytes}-byte limit` };
  }
  // The zip is kept in shared memory: the encoder threads read its files where they are (no copy
  // per file). With its length known up front, each chunk is copied in as it arrives.
  const known = Number.isFinite(length) && length <= memoryBytes ? Buffer.from(new SharedArrayBuffer(length)) : null;
  let chunks: Buffer[] | null = known ? null : [];
  let out: WriteStream | null = null;
  let bytes = 0;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.byteLength;
      if (bytes > maxBytes) throw new Error(`zip grew past the ${maxBytes}-byte limit`);
      const piece = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      if (known) {
        if (bytes > known.length) throw new Error(`zip longer than its Content-Length (${known.length})`);
        piece.copy(known, bytes - piece.length);
        continue;
      }
      if (chunks && bytes <= memoryBytes) {
        chunks.push(piece);
        continue;
      }
      if (!out) {
        out = createWriteStream(dest);
        for (const c of chunks ?? []) out.write(c);
        chunks = null;
      }
      if (!out.write(piece)) await new Promise<void>((r) => out!.once('drain', () => r()));
    }
    if (known) {
      if (bytes !== known.length) throw new Error(`zip shorter than its Content-Length (${bytes} of ${known.length})`);
      return { ok: true, bytes, buffer: known };
    }
    if (chunks) {
      const buffer = Buffer.from(new SharedArrayBuffer(bytes));
      let pos = 0;
      for (const c of chunks) pos += c.copy(buffer, pos);
      return { ok: true, bytes, buffer };
    }
    const stream = out!;
    await new Promise<void>((resolve, reject) => stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
    return { ok: true, bytes, buffer: null };
  } catch (err) {
    out?.destroy();
    return { ok: false, reason: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * The folders directly inside `path` (non-recursive listing, every page), but not mount points
 * (`sharing_info.shared_folder_id`): a team folder mounted in a member's home is its own entity,
 * and a zip of its mount point would fetch its contents for nothing.
 */
export async function listChildFolders(team: DropboxTeam, scope: CallScope, path: string): Promise<{ pathLower: string; name: string }[]> {
  const out: { pathLower: string; name: string }[] = [];
  let page = await team.call('files/list_folder', (d) => d.filesListFolder({ path, recursive: false, include_mounted_folders: false, limit: LIST_LIMIT }), scope);
  for (;;) {
    for (const e of page.entries) {
      if (e['.tag'] !== 'folder' || !e.path_lower || e.sharing_info?.shared_folder_id) continue;
      out.push({ pathLower: e.path_lower, name: e.name });
    }
    if (!page.has_more) return out;
    const cursor = page.cursor;
    page = await team.call('files/list_folder/continue', (d) => d.filesListFolderContinue({ cursor }), scope);
  }
}
