// Restore drills. A verification reads a sample of an entity's snapshot back from the blob store the
// way a restore would, and records what it proved:
//   - the sample: `sample_percent` of the snapshot's files (at least 100, or all when fewer), chosen
//     at random, plus every file that changed since the snapshot the previous completed
//     verification read (the first verification of an entity has no such baseline);
//   - per file, the metadata: its block list is whole 32-byte hashes, gives the recorded Dropbox
//     content_hash, has one block per started 4 MiB of the recorded size, each block's stored plain
//     size is what its position needs, and the stored content (contents table) agrees;
//   - per block, the bytes: every block is fetched, decrypted (AES-GCM authenticates it),
//     decompressed and re-hashed, and the file's content_hash is recomputed from the plaintext.
// Every failure names the file and, where one is at fault, the block hash and its pack. The summary
// is signed with the installation's key (evidence.ts). Neighbouring blocks are fetched with one
// ranged GET (BlockReader.readMany); when such a read fails, its blocks are read one by one so
// the failure lands on the right block.
//
// While it reads, the verification holds its account's advisory lock in shared mode, as a backup
// does: garbage collection then never repacks (moves) the blocks it is about to read.
//
// The engine records the outcome; telling the account (mail, webhook, smart alert) is the queue
// handler's business (workers/jobs/verification.ts).
import { and, desc, eq, inArray, isNull, lt } from 'drizzle-orm';
import type { AppDeps } from '../../api/deps.ts';
import { contents, verifications, type VerificationFailure, type VerificationState } from '../../db/schema.ts';
import { withSessionLock, withSharedLock } from '../../db/advisory-locks.ts';
import { accountLockKey } from '../backup/locks.ts';
import { accountStorage } from '../backup/storage.ts';
import {
  BlockReader, DROPBOX_BLOCK_SIZE, IntegrityError, InvalidRangeError, NotFoundError, blockHashes, contentHashFromBlockHashes, createContentHasher, type BlockRef, type ContentHasher,
} from '../storage/index.ts';
import { signEvidence, signingKey } from './evidence.ts';

export const MIN_SAMPLE_FILES = 100;
/** Stored failures (the count is exact beyond it). */
export const MAX_FAILURES = 1000;
/** Stored bytes fetched per readMany call. */
const READ_CHUNK_BYTES = 16 * 1024 * 1024;
const FILES_PER_BATCH = 500;

type Row = typeof verifications.$inferSelect;

interface SampledFile {
  id: string;
  path_display: string;
  size: number;
  content_hash: string | null;
  blocks: Buffer | null;
}

interface Located {
  packId: string;
  offset: number;
  length: number;
  plainSize: number;
}

interface Tally {
  filesChecked: number;
  blocksChecked: number;
  bytesChecked: number;
  failures: VerificationFailure[];
  failedFiles: Set<string>;
  failureCount: number;
}

/** How many files a sample of `percent` takes from `total`: at least 100 (or all of them). */
export function sampleSize(total: number, percent: number): number {
  return Math.min(total, Math.max(MIN_SAMPLE_FILES, Math.ceil((total * percent) / 100)));
}

function lockKey(id: string): string {
  return `verification:${id}`;
}

export type VerificationOutcome = VerificationState | 'skipped';

/** Runs a verification to its end; 'skipped' when it is over already or another worker runs it. */
export async function runVerification(deps: AppDeps, verificationId: string): Promise<VerificationOutcome> {
  const outcome = await withSessionLock(deps.sql, lockKey(verificationId), async (conn) => {
    const [row] = await deps.db.select().from(verifications).where(eq(verifications.id, verificationId));
    if (!row || row.state === 'succeeded' || row.state === 'failed') return 'skipped';
    // Shared like a backup's: garbage collection must not delete blocks the drill is reading.
    return withSharedLock(conn, accountLockKey(row.accountId), () => verify(deps, row));
  });
  return outcome ?? 'skipped';
}

/**
 * The queue gave up (its retries are exhausted): the verification fails, saying why, signed all the
 * same. 'skipped' when it was over already.
 */
export async function failVerification(deps: AppDeps, verificationId: string, err: unknown): Promise<'failed' | 'skipped'> {
  const [row] = await deps.db.select().from(verifications).where(eq(verifications.id, verificationId));
  if (!row || row.state === 'succeeded' || row.state === 'failed') return 'skipped';
  await finish(deps, { ...row, startedAt: row.startedAt ?? deps.clock.now() }, 'failed', `The verification could not run to its end: ${(err as Error).message}`);
  return 'failed';
}

async function verify(deps: AppDeps, claimed: Row): Promise<VerificationOutcome> {
  const { sql } = deps;
  const now = deps.clock.now();
  // A retried verification starts over: what it proves must come from one complete pass.
  const [row] = await deps.db.update(verifications).set({
    state: 'running', startedAt: claimed.startedAt ?? now, attempts: claimed.attempts + 1,
    filesChecked: 0, filesFailed: 0, blocksChecked: 0, bytesChecked: 0, failures: [], error: null,
  }).where(eq(verifications.id, claimed.id)).returning();
  const v = row!;

  const [baseline] = await deps.db.select({ snapshotId: verifications.snapshotId }).from(verifications)
    .where(and(
      eq(verifications.accountId, v.accountId), eq(verifications.entityId, v.entityId), lt(verifications.id, v.id),
      inArray(verifications.state, ['succeeded', 'failed']), isNull(verifications.error),
    ))
    .orderBy(desc(verifications.id)).limit(1);
  const baselineId = baseline?.snapshotId ?? null;

  const inSnapshot = sql`account_id = ${v.accountId} and entity_id = ${v.entityId} and kind = 'file'
    and valid_from_run <= ${v.snapshotId} and (valid_until_run is null or valid_until_run > ${v.snapshotId})`;
  const columns = sql`id, path_display, size::float8 as size, content_hash, blocks`;
  const [{ total } = { total: 0 }] = await sql<{ total: number }[]>`select count(*)::int as total from item_versions where ${inSnapshot}`;
  const changed = baselineId
    ? await sql<SampledFile[]>`select ${columns} from item_versions where ${inSnapshot} and valid_from_run > ${baselineId}`
    : [];
  const sampled = await sql<SampledFile[]>`
    select ${columns} from item_versions where ${inSnapshot}
      ${baselineId ? sql`and valid_from_run <= ${baselineId}` : sql``}
    order by random() limit ${sampleSize(total, v.samplePercent)}`;
  const files = [...changed, ...sampled].sort((a, b) => (a.path_display < b.path_display ? -1 : a.path_display > b.path_display ? 1 : 0));
  await deps.db.update(verifications).set({ baselineSnapshotId: baselineId, filesInSnapshot: total, filesChanged: changed.length })
    .where(eq(verifications.id, v.id));

  const { store, keys } = await accountStorage(deps, v.accountId);
  const reader = new BlockReader({ store, keys });
  const tally: Tally = { filesChecked: 0, blocksChecked: 0, bytesChecked: 0, failures: [], failedFiles: new Set(), failureCount: 0 };
  for (let i = 0; i < files.length; i += FILES_PER_BATCH) {
    await checkBatch(deps, v.accountId, reader, files.slice(i, i + FILES_PER_BATCH), tally);
    await deps.db.update(verifications).set({ filesChecked: tally.filesChecked, blocksChecked: tally.blocksChecked, bytesChecked: tally.bytesChecked })
      .where(eq(verifications.id, v.id));
  }
  const state = tally.failureCount > 0 ? 'failed' : 'succeeded';
  await finish(deps, { ...v, baselineSnapshotId: baselineId, filesInSnapshot: total, filesChanged: changed.length, filesChecked: tally.filesChecked,
    filesFailed: tally.failedFiles.size, blocksChecked: tally.blocksChecked, bytesChecked: tally.bytesChecked, failures: tally.failures }, state, null);
  return state;
}

function fail(tally: Tally, file: SampledFile, f: Omit<VerificationFailure, 'path'>): void {
  tally.failureCount++;
  tally.failedFiles.add(file.id);
  if (tally.failures.length < MAX_FAILURES) tally.failures.push({ path: file.path_display, ...f });
}

async function checkBatch(deps: AppDeps, accountId: string, reader: BlockReader, files: SampledFile[], tally: Tally): Promise<void> {
  const hexes = new Set<string>();
  for (const f of files) for (const h of blockHashes(f.blocks)) hexes.add(h.toString('hex'));
  const located = new Map<string, Located>();
  if (hexes.size) {
    const rows = await deps.sql<{ hex: string; pack_id: string; offset: number; length: number; plain_size: number }[]>`
      select encode(hash, 'hex') as hex, pack_id, "offset"::float8 as "offset", length, plain_size from blocks
      where account_id = ${accountId} and hash in (select decode(h, 'hex') from unnest(${[...hexes]}::text[]) h)`;
    for (const r of rows) located.set(r.hex, { packId: r.pack_id, offset: Number(r.offset), length: r.length, plainSize: r.plain_size });
  }
  const hashesWithContent = [...new Set(files.map((f) => f.content_hash).filter((h): h is string => !!h))];
  const stored = new Map<string, { size: number; blocks: Buffer }>();
  if (hashesWithContent.length) {
    const rows = await deps.db.select({ contentHash: contents.contentHash, size: contents.size, blocks: contents.blocks }).from(contents)
      .where(and(eq(contents.accountId, accountId), inArray(contents.contentHash, hashesWithContent)));
    for (const r of rows) stored.set(r.contentHash, r);
  }

  // Metadata first; the blocks of files whose list is sound are then read in order.
  const pending: { file: SampledFile; ref: BlockRef }[] = [];
  const hashers = new Map<string, ContentHasher | null>();
  for (const file of files) {
    tally.filesChecked++;
    const list = file.blocks ?? Buffer.alloc(0);
    const hashes = blockHashes(list);
    if (list.length % 32 !== 0) {
      fail(tally, file, { kind: 'block_list_mismatch', block_hash: null, pack_id: null, detail: `block list is ${list.length} bytes, not a whole number of 32-byte hashes` });
      continue;
    }
    const expectedBlocks = Math.ceil(file.size / DROPBOX_BLOCK_SIZE);
    if (hashes.length !== expectedBlocks) {
      fail(tally, file, { kind: 'block_list_mismatch', block_hash: null, pack_id: null, detail: `${hashes.length} blocks listed, a file of ${file.size} bytes has ${expectedBlocks}` });
    }
    if (file.content_hash && contentHashFromBlockHashes(hashes) !== file.content_hash) {
      fail(tally, file, { kind: 'block_list_mismatch', block_hash: null, pack_id: null, detail: `block list gives content_hash ${contentHashFromBlockHashes(hashes)}, the snapshot records ${file.content_hash}` });
    }
    const content = file.content_hash ? stored.get(file.content_hash) : undefined;
    if (content && (content.size !== file.size || !content.blocks.equals(list))) {
      fail(tally, file, { kind: 'block_list_mismatch', block_hash: null, pack_id: null, detail: `stored content ${file.content_hash} has ${content.size} bytes in ${content.blocks.length / 32} blocks, the snapshot records ${file.size} bytes in ${hashes.length}` });
    }
    let sound = true;
    for (const [i, h] of hashes.entries()) {
      const hex = h.toString('hex');
      const at = located.get(hex);
      tally.blocksChecked++;
      if (!at) {
        fail(tally, file, { kind: 'missing_block', block_hash: hex, pack_id: null, detail: `block ${i} is not recorded in any pack` });
        sound = false;
        continue;
      }
      const want = Math.min(DROPBOX_BLOCK_SIZE, file.size - i * DROPBOX_BLOCK_SIZE);
      if (at.plainSize !== want) {
        fail(tally, file, { kind: 'size_mismatch', block_hash: hex, pack_id: at.packId, detail: `block ${i} holds ${at.plainSize} bytes, ${want} expected at its position` });
      }
      pending.push({ file, ref: { hash: h, ...at } });
    }
    hashers.set(file.id, sound ? createContentHasher() : null);
  }

  for (let i = 0; i < pending.length;) {
    let bytes = 0;
    let j = i;
    while (j < pending.length && (j === i || bytes + pending[j]!.ref.length <= READ_CHUNK_BYTES)) bytes += pending[j++]!.ref.length;
    const chunk = pending.slice(i, j);
    const plain = await readChunk(reader, chunk, tally);
    for (const [k, { file }] of chunk.entries()) {
      const data = plain[k];
      const hasher = hashers.get(file.id);
      if (data === null || data === undefined) {
        hashers.set(file.id, null);
        continue;
      }
      tally.bytesChecked += data.length;
      hasher?.update(data);
    }
    i = j;
  }
  for (const file of files) {
    const hasher = hashers.get(file.id);
    if (!hasher || !file.content_hash) continue;
    const actual = hasher.digest();
    if (actual !== file.content_hash) {
      fail(tally, file, { kind: 'content_hash_mismatch', block_hash: null, pack_id: null, detail: `the bytes read back give content_hash ${actual}, the snapshot records ${file.content_hash}` });
    }
  }
}

/** Plaintexts in order; null for a block that failed (recorded in the tally). */
async function readChunk(reader: BlockReader, chunk: { file: SampledFile; ref: BlockRef }[], tally: Tally): Promise<(Buffer | null)[]> {
  try {
    return await reader.readMany(chunk.map((c) => c.ref));
  } catch (err) {
    if (!isStorageFault(err)) throw err;
  }
  const out: (Buffer | null)[] = [];
  for (const { file, ref } of chunk) {
    try {
      out.push(await reader.read(ref));
    } catch (err) {
      if (!isStorageFault(err)) throw err;
      const hex = ref.hash.toString('hex');
      if (err instanceof NotFoundError) fail(tally, file, { kind: 'missing_pack', block_hash: hex, pack_id: ref.packId, detail: `pack ${ref.packId} is missing from storage` });
      else fail(tally, file, { kind: 'corrupt_block', block_hash: hex, pack_id: ref.packId, detail: `${(err as Error).message} (pack ${ref.packId} at ${ref.offset}+${ref.length})` });
      out.push(null);
    }
  }
  return out;
}

function isStorageFault(err: unknown): boolean {
  return err instanceof NotFoundError || err instanceof IntegrityError || err instanceof InvalidRangeError;
}

async function finish(deps: AppDeps, v: Row, state: 'succeeded' | 'failed', error: string | null): Promise<void> {
  const finishedAt = deps.clock.now();
  const startedAt = v.startedAt ?? finishedAt;
  const key = await signingKey(deps);
  const evidence = signEvidence(key, {
    type: 'coffer.verification',
    version: 1,
    key_id: key.keyId,
    verification_id: v.id,
    account_id: v.accountId,
    task_id: v.taskId,
    entity_id: v.entityId,
    snapshot_id: v.snapshotId,
    state,
    reason: v.reason,
    sample_percent: v.samplePercent,
    baseline_snapshot_id: v.baselineSnapshotId,
    files_in_snapshot: v.filesInSnapshot,
    files_changed: v.filesChanged,
    files_checked: v.filesChecked,
    files_failed: v.filesFailed,
    blocks_checked: v.blocksChecked,
    bytes_checked: v.bytesChecked,
    failures: v.failures,
    error,
    started_at: startedAt.toISOString(),
    finished_at: finishedAt.toISOString(),
    duration_ms: Math.max(0, finishedAt.getTime() - startedAt.getTime()),
  });
  await deps.db.update(verifications).set({
    state, error, evidence, finishedAt, startedAt,
    baselineSnapshotId: v.baselineSnapshotId, filesInSnapshot: v.filesInSnapshot, filesChanged: v.filesChanged, filesChecked: v.filesChecked,
    filesFailed: v.filesFailed, blocksChecked: v.blocksChecked, bytesChecked: v.bytesChecked, failures: v.failures,
  }).where(eq(verifications.id, v.id));
}
