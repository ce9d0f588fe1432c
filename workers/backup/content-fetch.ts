// Getting a file's bytes into packs: a download (pinned to its rev) or, for documents Dropbox
// cannot download as they are, an export; each streamed through the BlockSplitter into the block
// ingest and checked against what Dropbox said of it. Also the zip stage's ways in (one block held
// in memory, or a stream) and the flush that makes queued blocks durable.
import { downloadFile, DownloadError, TruncatedBodyError } from '../dropbox/files.ts';
import { BlockSplitter, contentHashFromBlockHashes, sha256 } from '../storage/index.ts';
import type { Content, FileEntry, NewContent } from './entries.ts';
import type { EntityBackup } from './run-state.ts';

/** Stores a file of at most one block (4 MiB) held in memory. */
export async function storeBlock(b: EntityBackup, data: Buffer): Promise<NewContent> {
  const hash = sha256(data);
  await b.ingest.add(hash, data);
  return { content_hash: contentHashFromBlockHashes([hash]), size: data.length, blocks: hash };
}

export async function storeStream(b: EntityBackup, body: AsyncIterable<Uint8Array>): Promise<NewContent> {
  const splitter = new BlockSplitter(body);
  for await (const block of splitter) await b.ingest.add(block.sha256, block.data);
  return { content_hash: splitter.contentHash, size: splitter.size, blocks: Buffer.concat(splitter.blockHashes as Buffer[]) };
}

/** Blocks queued so far are stored and recorded: their contents may be committed. */
export async function flushBlocks(b: EntityBackup): Promise<void> {
  await b.ingest.flush();
  await b.writer.flush();
}

/**
 * A document Dropbox cannot download as it is (Paper, Google Docs): files/export streamed into
 * packs, checked against the export's size and hash when Dropbox gives them. Stored under a
 * content key of its own (`contentKey`), so the same document is not exported twice.
 */
export function exportDocument(b: EntityBackup, entry: FileEntry, key: string): Promise<Content> {
  return fetchContent(b, key, entry.id ?? entry.path_lower!, 'files/export', (got, result) => {
    const meta = (result as { export_metadata?: { size?: number; export_hash?: string } } | undefined)?.export_metadata;
    if (meta?.size !== undefined && got.size !== meta.size) throw new TruncatedBodyError(got.size, meta.size);
    if (meta?.export_hash && got.contentHash !== meta.export_hash) {
      throw new DownloadError(`export_hash mismatch: Dropbox reported ${meta.export_hash}, the exported bytes hash to ${got.contentHash}`, undefined, false);
    }
  });
}

/** Streams one file into packs; resolves with its block list once its content_hash checked out. */
export function download(b: EntityBackup, entry: FileEntry): Promise<Content> {
  const hash = entry.content_hash!;
  return fetchContent(b, hash, `rev:${entry.rev}`, 'files/download', (got) => {
    if (got.size !== entry.size) throw new TruncatedBodyError(got.size, entry.size);
    if (got.contentHash !== hash) {
      throw new DownloadError(`content_hash mismatch: Dropbox reported ${hash}, the downloaded bytes hash to ${got.contentHash}`, undefined, false);
    }
  });
}

/**
 * One download or export into packs, shared by concurrent callers asking for the same key. The
 * body goes through the splitter into the ingest; `verify` throws when the bytes are not the ones
 * Dropbox described (a truncated body is retried by downloadFile, a mismatch is not).
 */
function fetchContent(
  b: EntityBackup,
  key: string,
  path: string,
  route: 'files/download' | 'files/export',
  verify: (got: { size: number; contentHash: string }, result: Record<string, unknown> | undefined) => void,
): Promise<Content> {
  let p = b.inflight.get(key);
  if (!p) {
    p = downloadFile(b.team, b.scope, path, async (body, expectedSize, result) => {
      const splitter = new BlockSplitter(body);
      for await (const block of splitter) await b.ingest.add(block.sha256, block.data);
      if (expectedSize !== undefined && splitter.size !== expectedSize) throw new TruncatedBodyError(splitter.size, expectedSize);
      verify({ size: splitter.size, contentHash: splitter.contentHash }, result);
      return { size: splitter.size, blocks: Buffer.concat(splitter.blockHashes as Buffer[]) };
    }, { fetch: b.fetch, route, ...(b.opts.sleep ? { sleep: b.opts.sleep } : {}) });
    b.inflight.set(key, p);
    p.then(() => b.inflight.delete(key), () => b.inflight.delete(key));
  }
  return p;
}
