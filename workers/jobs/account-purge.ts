// Erases removed accounts once their 7-day grace period is over (seed 5.2.2): first every object in
// the account's blob store (backup packs, export archives: everything under the account's own
// prefix `<region>/<account id>/`), then, in one transaction, every row of every table that has an
// account_id — those whose foreign key cascades from accounts go with the account row, the others
// (content-addressed blocks, packs, item versions, search documents, … which carry no foreign key)
// are deleted explicitly, found from the catalogue so that a table added later is not forgotten —
// plus the account's idempotency records and the sign-in throttles of its users. The wrapped data
// key lives in the account row and goes with it, so nothing stored can be decrypted afterwards.
// An undo that races the job wins: the row is re-checked under lock before anything is deleted.
//
// Nothing of the account may run after it is gone: a queued backup, restore or mail would find
// its rows deleted halfway, or write new ones (and new packs) for an account that no longer
// exists. So its waiting jobs are cancelled first, and again in the deleting transaction (for one
// enqueued in between); while a worker is running one of its jobs the purge waits for the next
// run of this job rather than delete data from under it.
//
// The security audit log is the exception: an auditor must still be able to see who removed the
// account and what was done before. Its rows (audit_events, audit_heads: no foreign key to
// accounts) stay, ended by an `account_purged` event appended through the chain in the same
// transaction, so the kept log still verifies; they hold ids, addresses and what changed, never
// backed-up content. The same job erases such a log AUDIT_RETENTION_AFTER_PURGE_DAYS after the purge.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { and, eq, inArray, lte, notExists, or, sql } from 'drizzle-orm';
import type { AppDeps } from '../../api/deps.ts';
import { accounts, auditEvents, auditHeads, idempotencyKeys, loginThrottle, users } from '../../db/schema.ts';
import { resolveAccountStore } from '../backup/storage.ts';
import { regionLocation } from '../backup/locations.ts';
import { cleanUpSaml } from '../../api/resources/saml/service.ts';
import { cleanUpOidcRequests } from '../../api/resources/identities/service.ts';
import { audit } from '../../api/resources/audit/service.ts';
import { cancelAccountJobs } from '../queue.ts';

/** How long the audit log of a purged account is kept, counted from the purge (the tombstone event). */
export const AUDIT_RETENTION_AFTER_PURGE_DAYS = 365;

/** Tables with an account_id that the purge keeps (the audit log, until its retention ends). */
export const KEPT_AFTER_PURGE = ['audit_events', 'audit_heads'];

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
  return rows.map((r) => r.table_name).filter((t) => !KEPT_AFTER_PURGE.includes(t));
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
  if (!regionLocation(deps.config, account.region) && !own) await rm(join(deps.config.dataDir, 'blobs', account.region, account.id), { recursive: true, force: true });
  return count;
}

export async function purgeAccount(deps: AppDeps, accountId: string, now: Date): Promise<PurgedAccount | null> {
  const [account] = await deps.db
    .select({ id: accounts.id, region: accounts.region })
    .from(accounts)
    .where(and(eq(accounts.id, accountId), eq(accounts.state, 'pending_deletion'), lte(accounts.purgeAt, now)));
  if (!account) return null;
  const running = (await cancelAccountJobs(deps, null, accountId)).active;
  if (running.length) {
    deps.log.warn({ accountId, running }, 'account purge postponed: jobs of the account are running');
    return null;
  }
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
    if ((await cancelAccountJobs(deps, tx, accountId)).active.length) return null;
    const counts: Record<string, number> = {};
    for (const table of tables) {
      const deleted = await tx.execute(sql`delete from ${sql.identifier(table)} where account_id = ${accountId}`);
      counts[table] = (deleted as unknown as { count: number }).count;
    }
    // The tombstone: the last event of the kept audit log, appended through the chain (and its head).
    await audit(deps, accountId, {
      type: 'account_purged', performedBy: null, ip: null, userAgent: null,
      description: `Account ${accountId} and all its data erased after its removal grace period; this log is kept for ${AUDIT_RETENTION_AFTER_PURGE_DAYS} days`,
      details: { account_id: accountId, blobs_erased: blobs, audit_kept_until: new Date(now.getTime() + AUDIT_RETENTION_AFTER_PURGE_DAYS * 86_400_000).toISOString() },
    }, tx);
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
export async function accountPurgeJob(deps: AppDeps): Promise<{ purged: PurgedAccount[]; auditLogsErased: number }> {
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
  await cleanUpOidcRequests(deps);
  const auditLogsErased = await eraseExpiredAuditLogs(deps, now);
  return { purged, auditLogsErased };
}

/** The kept audit logs of accounts purged more than AUDIT_RETENTION_AFTER_PURGE_DAYS ago; answers how many. */
export async function eraseExpiredAuditLogs(deps: Pick<AppDeps, 'db'>, now: Date): Promise<number> {
  const cutoff = new Date(now.getTime() - AUDIT_RETENTION_AFTER_PURGE_DAYS * 86_400_000);
  return deps.db.transaction(async (tx) => {
    // A head whose account is gone and that has not moved since the cutoff: its last event is the tombstone.
    const expired = await tx
      .select({ accountId: auditHeads.accountId })
      .from(auditHeads)
      .where(and(lte(auditHeads.updatedAt, cutoff), notExists(tx.select({ id: accounts.id }).from(accounts).where(eq(accounts.id, auditHeads.accountId)))));
    const ids = expired.map((r) => r.accountId);
    if (!ids.length) return 0;
    await tx.delete(auditEvents).where(inArray(auditEvents.accountId, ids));
    await tx.delete(auditHeads).where(inArray(auditHeads.accountId, ids));
    return ids.length;
  });
}
