// A restore's or export's results file by file (written by the workers into job_items), as pages
// or as one CSV.
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import { toCsv } from '../../csv.ts';
import { badRequest, notFound } from '../../errors.ts';
import type { PageRequest } from '../../pagination.ts';
import { encodeCursor } from '../../pagination.ts';
import type { JobItem } from './schemas.ts';

/** Rows a CSV holds at most, as the other CSV lists (api/resources/activity). */
export const CSV_MAX_ROWS = 100_000;
export const CSV_COLUMNS = ['path', 'destination', 'size', 'status', 'error'] as const;

interface Row {
  id: string;
  path: string;
  destination: string | null;
  size: number;
  status: JobItem['status'];
  error: string | null;
}

async function requireJob(deps: AppDeps, ctx: RequestContext, jobId: string): Promise<void> {
  const [row] = await deps.sql`select 1 from jobs where id = ${jobId} and account_id = ${ctx.accountId}`;
  if (!row) throw notFound('job', jobId);
}

function afterId(after: string | undefined): string {
  if (after === undefined) return '0';
  if (!/^[0-9]{1,18}$/.test(after)) throw badRequest('invalid_cursor', 'The cursor is not one this API returned.');
  return after;
}

async function rows(deps: AppDeps, ctx: RequestContext, jobId: string, after: string, limit: number): Promise<Row[]> {
  return deps.sql<Row[]>`
    select id::text as id, path, destination, size::float8 as size, status, error
    from job_items
    where job_id = ${jobId} and account_id = ${ctx.accountId} and id > ${after}::bigint
    order by id
    limit ${limit}`;
}

function serialize(r: Row): JobItem {
  return { path: r.path, destination: r.destination, size: Number(r.size), status: r.status, error: r.error };
}

/** In the order the job walked them (by path within each batch). */
export async function listJobItems(deps: AppDeps, ctx: RequestContext, jobId: string, page: PageRequest) {
  await requireJob(deps, ctx, jobId);
  const found = await rows(deps, ctx, jobId, afterId(page.after), page.limit + 1);
  const more = found.length > page.limit;
  const data = more ? found.slice(0, page.limit) : found;
  return { data: data.map(serialize), next_cursor: more ? encodeCursor(data[data.length - 1]!.id) : null };
}

export async function jobItemsCsv(deps: AppDeps, ctx: RequestContext, jobId: string): Promise<string> {
  await requireJob(deps, ctx, jobId);
  const found = await rows(deps, ctx, jobId, '0', CSV_MAX_ROWS);
  return toCsv(found.map((r) => { const i = serialize(r); return [i.path, i.destination ?? '', i.size, i.status, i.error ?? '']; }), { columns: [...CSV_COLUMNS] });
}
