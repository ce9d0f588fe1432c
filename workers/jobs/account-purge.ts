// Erases removed accounts once their 7-day grace period is over (seed 5.2.2): first every object in
// the account's blob store (backup packs, export archives: everything under the account's own
// prefix `<region>/<account id>/`), then, in one transaction, every row of every table that has an
// account_id — those whose foreign key cascades from accounts go with the account row, the others
// (content-addressed blocks, packs, item versions, search documents, … which carry no foreign key)
// are deleted explicitly, found from the catalogue so that a table added later is not forgotten —
// plus the account's idempotency records and the sign-in throttles of its users. The wrapped data
// key lives in the account row and goes with it, so nothing stored can be decrypted afterwards.
// An undo that races the job wins: the row is re-checked under lock before anything is deleted.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { and, eq, inArray, lte, or, sql } from 'drizzle-orm';
import type { AppDeps } from '../../api/deps.ts';
import { accounts, idempotencyKeys, loginThrottle, users } from '../../db/schema.ts';
import { resolveAccountStore } from '../backup/storage.ts';
import { cleanUpSaml } from '../../api/resources/saml/service.ts';

export interface PurgedAccount {
  accountId: string;
  blobs: number;
  rows: Record<string, number>;
}

/** Tables with an account_id column whose rows do not go with the account row by ON DELETE CASCADE. */
export async function tablesWithoutCascade(deps: Pick<AppDeps, 'sql'>): Promise<string[]> {
  const rows = await deps.sql<{ table_name: string }[]>`
    select c.table_name
      from information_schema.columns c
      join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name and t.table_type = 'BASE TABLE'
     where c.table_schema = 'public' and c.column_name = 'account_id' and c.table_name <> 'accounts'
       and not exists (
         select 1 from pg_constraint k
          where k.contype = 'f' and k.confdeltype = 'c' and k.confrelid = 'public.accounts'::regclass
            and k.conrelid = ('public.' || quote_ident(c.table_name))::regclass
            and k.conkey = array[(select a.attnum from pg_attribute a where a.attrelid = k.conrelid and a.attname = 'account_id')]::int2[]
       )
     order by c.table_name`;
  return rows.map((r) => r.table_name);
}

async function eraseBlobs(deps: AppDeps, account: { id: string; region: string }): Promise<number> {
  const { store, own } = await resolveAccountStore(deps, account);
  let count = 0;
  let batch: string[] = [];
  // In the account's own bucket only Coffer's packs go; in Coffer's storage, everything of the account.
  for await (const info of store.list(own ? 'packs/' : '')) {
    batch.push(info.key);
    if (batch.length === 500) {
      await store.delete(batch);
      count += batch.length;
      batch = [];
    }
  }
  if (batch.length) {
    await store.delete(batch);
    count += batch.length;
  }
  // The filesystem store leaves its (now empty) directories behind: remove the account's root.
  if (!deps.config.s3 && !own) await rm(join(deps.config.dataDir, 'blobs', account.region, account.id), { recursive: true, force: true });
  return count;
}

export async function purgeAccount(deps: AppDeps, accountId: string, now: Date): Promise<PurgedAccount | null> {
  const [account] = await deps.db
    .select({ id: accounts.id, region: accounts.region })
    .from(accounts)
    .where(and(eq(accounts.id, accountId), eq(accounts.state, 'pending_deletion'), lte(accounts.purgeAt, now)));
  if (!account) return null;
  // Blobs first: if this fails the rows remain and the next run tries again.
  const blobs = await eraseBlobs(deps, account);
  const tables = await tablesWithoutCascade(deps);
  const rows = await deps.db.transaction(async (tx) => {
    const [locked] = await tx
      .select({ id: accounts.id })
      .from(accounts)
      .where(and(eq(accounts.id, accountId), eq(accounts.state, 'pending_deletion'), lte(accounts.purgeAt, now)))
      .for('update');
    if (!locked) return null;
    const counts: Record<string, number> = {};
    for (const table of tables) {
      const deleted = await tx.execute(sql`delete from ${sql.identifier(table)} where account_id = ${accountId}`);
      counts[table] = (deleted as unknown as { count: number }).count;
    }
    const emails = await tx.select({ email: users.email }).from(users).where(eq(users.accountId, accountId));
    if (emails.length) await tx.delete(loginThrottle).where(inArray(loginThrottle.email, emails.map((e) => e.email.toLowerCase())));
    // Records are scoped `<account>/<user>/<credential>` (api/plugins/idempotency.ts); bare `<account>` ones are older.
    await tx.delete(idempotencyKeys).where(or(eq(idempotencyKeys.scope, accountId), sql`starts_with(${idempotencyKeys.scope}, ${accountId + '/'})`));
    await tx.delete(accounts).where(eq(accounts.id, accountId));
    counts.accounts = 1;
    return counts;
  });
  return rows ? { accountId, blobs, rows } : null;
}

/** The `account-purge` job: every account whose grace period is over (the result, kept by pg-boss, says what went); also forgets expired SAML ids. */
export async function accountPurgeJob(deps: AppDeps): Promise<{ purged: PurgedAccount[] }> {
  const now = deps.clock.now();
  const due = await deps.db
    .select({ id: accounts.id })
    .from(accounts)
    .where(and(eq(accounts.state, 'pending_deletion'), lte(accounts.purgeAt, now)));
  const purged: PurgedAccount[] = [];
  for (const { id } of due) {
    const result = await purgeAccount(deps, id, now);
    if (result) purged.push(result);
  }
  await cleanUpSaml(deps);
  return { purged };
}
