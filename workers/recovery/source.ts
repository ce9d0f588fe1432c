// What a restore or export reads: the items of one snapshot (an entity as of a run), optionally
// narrowed to chosen items (folders recursively), walked in path_lower order in pages (so a job can
// checkpoint "everything up to this path is done"), and each file's bytes from the blob store,
// verified against the content_hash recorded at backup.
import type postgres from 'postgres';
import type { AppDeps } from '../../api/deps.ts';
import { accountStorage } from '../backup/storage.ts';
import { BlockReader, blockHashes, contentHashFromBlockHashes, IntegrityError, readFileBlocks, type BlockRef } from '../storage/index.ts';
import { Readable } from 'node:stream';

/** A file of the snapshot whose stored data failed verification (tampered with, swapped or corrupt). */
export class ItemIntegrityError extends IntegrityError {
  readonly path: string;
  constructor(path: string, cause: IntegrityError) {
    super(cause.reason, `${path}: ${cause.message}`, { cause });
    this.name = 'ItemIntegrityError';
    this.path = path;
  }
}

function withPath(path: string, err: unknown): unknown {
  return err instanceof IntegrityError && !(err instanceof ItemIntegrityError) ? new ItemIntegrityError(path, err) : err;
}

export interface SourceItem {
  id: string;
  path_lower: string;
  path_display: string;
  kind: 'file' | 'folder';
  size: number;
  content_hash: string | null;
  blocks: Buffer | null;
  /** Raw SQL: a Date or an ISO string depending on the connection's type parsers. */
  client_modified: Date | string | null;
}

export interface Selection {
  accountId: string;
  entityId: string;
  runId: string;
  /** path_lower roots chosen (each one itself and everything under it); undefined = everything. */
  roots?: string[];
}

function selectionFilter(sql: postgres.Sql, s: Selection) {
  if (!s.roots) return sql``;
  return sql`and exists (select 1 from unnest(${s.roots}::text[]) r where path_lower = r or starts_with(path_lower, r || '/'))`;
}

/** One page of the snapshot's items after `after` (path_lower order). */
export async function itemsPage(deps: Pick<AppDeps, 'sql'>, s: Selection, kind: 'file' | 'folder' | 'any', after: string | undefined, limit: number): Promise<SourceItem[]> {
  const { sql } = deps;
  // A document backed up as its export (Paper, Google Docs) is restored and exported as a file of
  // that format: "Roadmap.gdoc" holding docx bytes becomes "Roadmap.gdoc.docx".
  return sql<SourceItem[]>`
    select id, path_lower, case when export_as is null then path_display else path_display || '.' || export_as end as path_display,
      kind, size::float8 as size, content_hash, blocks, client_modified
    from item_versions
    where entity_id = ${s.entityId} and account_id = ${s.accountId}
      and valid_from_run <= ${s.runId} and (valid_until_run is null or valid_until_run > ${s.runId})
      ${kind === 'any' ? sql`` : sql`and kind = ${kind}`}
      ${selectionFilter(sql, s)}
      ${after === undefined ? sql`` : sql`and path_lower > ${after}`}
    order by path_lower
    limit ${limit}`;
}

/** Files and bytes the selection holds. */
export async function selectionTotals(deps: Pick<AppDeps, 'sql'>, s: Selection): Promise<{ files: number; bytes: number }> {
  const { sql } = deps;
  const [row] = await sql<{ files: number; bytes: number }[]>`
    select count(*)::int as files, coalesce(sum(size), 0)::float8 as bytes
    from item_versions
    where entity_id = ${s.entityId} and account_id = ${s.accountId} and kind = 'file'
      and valid_from_run <= ${s.runId} and (valid_until_run is null or valid_until_run > ${s.runId})
      ${selectionFilter(sql, s)}`;
  return row!;
}

/** Folders of the selection with nothing inside them in the snapshot (uploads create the others). */
export async function emptyFolders(deps: Pick<AppDeps, 'sql'>, s: Selection): Promise<SourceItem[]> {
  const { sql } = deps;
  return sql<SourceItem[]>`
    select f.id, f.path_lower, f.path_display, f.kind, 0::float8 as size, null as content_hash, null as blocks, null as client_modified
    from item_versions f
    where f.entity_id = ${s.entityId} and f.account_id = ${s.accountId} and f.kind = 'folder'
      and f.valid_from_run <= ${s.runId} and (f.valid_until_run is null or f.valid_until_run > ${s.runId})
      ${s.roots ? sql`and exists (select 1 from unnest(${s.roots}::text[]) r where f.path_lower = r or starts_with(f.path_lower, r || '/'))` : sql``}
      and not exists (
        select 1 from item_versions c
        where c.entity_id = f.entity_id and c.parent_lower = f.path_lower
          and c.valid_from_run <= ${s.runId} and (c.valid_until_run is null or c.valid_until_run > ${s.runId}))
    order by f.path_lower`;
}

/** Reads files' bytes from the account's blob store. */
export class SnapshotReader {
  readonly #deps: Pick<AppDeps, 'sql'>;
  readonly #accountId: string;
  readonly reader: BlockReader;

  private constructor(deps: Pick<AppDeps, 'sql'>, accountId: string, reader: BlockReader) {
    this.#deps = deps;
    this.#accountId = accountId;
    this.reader = reader;
  }

  static async open(deps: Pick<AppDeps, 'sql' | 'db' | 'keyring' | 'config'>, accountId: string): Promise<SnapshotReader> {
    const { store, keys } = await accountStorage(deps, accountId);
    return new SnapshotReader(deps, accountId, new BlockReader({ store, keys }));
  }

  /** Where each block of these files is stored. */
  async refs(items: SourceItem[]): Promise<Map<string, BlockRef[]>> {
    const hexes = new Set<string>();
    for (const it of items) for (const h of blockHashes(it.blocks)) hexes.add(h.toString('hex'));
    const located = new Map<string, { packId: string; offset: number; length: number }>();
    const all = [...hexes];
    for (let i = 0; i < all.length; i += 5000) {
      const chunk = all.slice(i, i + 5000);
      const rows = await this.#deps.sql<{ hex: string; pack_id: string; offset: number; length: number }[]>`
        select encode(hash, 'hex') as hex, pack_id, "offset"::float8 as "offset", length from blocks
        where account_id = ${this.#accountId} and hash in (select decode(h, 'hex') from unnest(${chunk}::text[]) h)`;
      for (const r of rows) located.set(r.hex, { packId: r.pack_id, offset: Number(r.offset), length: r.length });
    }
    const out = new Map<string, BlockRef[]>();
    for (const it of items) {
      const refs: BlockRef[] = [];
      for (const h of blockHashes(it.blocks)) {
        const at = located.get(h.toString('hex'));
        if (!at) throw new IntegrityError('hash-mismatch', `block ${h.toString('hex')} of ${it.path_display} is not stored`);
        refs.push({ hash: h, ...at });
      }
      out.set(it.id, refs);
    }
    return out;
  }

  /** Whole contents of small files, read with coalesced ranged GETs, each checked against its content_hash. */
  async readSmall(items: SourceItem[]): Promise<Map<string, Buffer>> {
    const refs = await this.refs(items);
    const flat: BlockRef[] = [];
    for (const it of items) {
      const r = refs.get(it.id)!;
      checkBlockList(it, r);
      flat.push(...r);
    }
    const plain: Buffer[] = [];
    try {
      for (let i = 0; i < flat.length; i += 256) plain.push(...(await this.reader.readMany(flat.slice(i, i + 256))));
    } catch (err) {
      if (!(err instanceof IntegrityError)) throw err;
      // Which file it was: read them one by one (rare, and only to name it).
      for (const it of items) {
        try {
          await this.reader.readMany(refs.get(it.id)!);
        } catch (one) {
          throw withPath(it.path_display, one);
        }
      }
      throw err;
    }
    const out = new Map<string, Buffer>();
    let at = 0;
    for (const it of items) {
      const n = refs.get(it.id)!.length;
      out.set(it.id, Buffer.concat(plain.slice(at, at + n)));
      at += n;
    }
    return out;
  }

  /** One file as a stream (verified block by block against the recorded content_hash). */
  async stream(item: SourceItem, refs?: BlockRef[]): Promise<Readable> {
    const r = refs ?? (await this.refs([item])).get(item.id)!;
    const reader = this.reader;
    // Each block is released only once it has been decoded and verified.
    return Readable.from((async function* () {
      try {
        yield* readFileBlocks(reader, r, { expectedContentHash: item.content_hash ?? undefined });
      } catch (err) {
        throw withPath(item.path_display, err);
      }
    })(), { objectMode: false });
  }
}

function checkBlockList(item: SourceItem, refs: BlockRef[]): void {
  if (!item.content_hash) return;
  const actual = contentHashFromBlockHashes(refs.map((b) => b.hash));
  if (actual !== item.content_hash) throw new ItemIntegrityError(item.path_display, new IntegrityError('hash-mismatch', `block list gives ${actual}, expected ${item.content_hash}`));
}

/** Resolves chosen items (item ids or paths) into path_lower roots within the snapshot's entity. */
export async function resolveRoots(deps: Pick<AppDeps, 'sql'>, accountId: string, entityId: string, items: string[]): Promise<{ roots: string[] | undefined; unknown: string[] }> {
  const roots = new Set<string>();
  const unknown: string[] = [];
  const ids = items.filter((i) => /^item_[0-9a-z]{26}$/.test(i));
  const found = ids.length
    ? await deps.sql<{ id: string; path_lower: string }[]>`
        select id, path_lower from item_versions where account_id = ${accountId} and entity_id = ${entityId} and id in ${deps.sql(ids)}`
    : [];
  const byId = new Map(found.map((r) => [r.id, r.path_lower]));
  for (const i of items) {
    if (/^item_[0-9a-z]{26}$/.test(i)) {
      const p = byId.get(i);
      if (p === undefined) unknown.push(i);
      else roots.add(p);
    } else {
      let p = i.trim().toLowerCase().replace(/\/+$/, '');
      if (p !== '' && !p.startsWith('/')) p = '/' + p;
      if (p === '') return { roots: undefined, unknown: [] }; // the root: everything
      roots.add(p);
    }
  }
  return { roots: [...roots], unknown };
}
