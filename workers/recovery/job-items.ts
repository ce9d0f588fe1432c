// A job's results file by file (the job_items table): what a restore or export wrote and where.
// Rows go in with the progress checkpoint of their batch, in its transaction, as one bulk insert.
import type postgres from 'postgres';
import { insertRows, type Column } from '../../db/bulk-insert.ts';
import type { JobItemStatus } from '../../db/schema.ts';

export interface JobItemRow {
  job_id: string;
  account_id: string;
  path: string;
  destination: string | null;
  size: number;
  status: JobItemStatus;
  error: string | null;
}

const COLUMNS: readonly Column[] = [
  { name: 'job_id', type: 'text' },
  { name: 'account_id', type: 'text' },
  { name: 'path', type: 'text' },
  { name: 'destination', type: 'text' },
  { name: 'size', type: 'bigint' },
  { name: 'status', type: 'text' },
  { name: 'error', type: 'text' },
];

export async function recordItems(tx: postgres.Sql | postgres.TransactionSql, rows: readonly JobItemRow[]): Promise<void> {
  await insertRows(tx, 'job_items', COLUMNS, rows as unknown as Record<string, unknown>[]);
}

/** An export that starts its archive again, or ends without one, has written none of them. */
export async function forgetItems(sql: postgres.Sql, jobId: string): Promise<void> {
  await sql`delete from job_items where job_id = ${jobId}`;
}
