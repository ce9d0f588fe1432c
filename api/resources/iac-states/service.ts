// Remote state for `coffer iac` (the "coffer" backend): named state documents per account, each
// write a new version (history kept until the state is deleted), optimistic concurrency on the
// serial (ETag `"v<serial>"`), and an advisory lock that runs take before they write. Every write
// locks the state's row (`select … for update`), so a check and the change it guards cannot
// interleave with another request's. Documents are sealed at rest with a context naming the
// account and the state, so a sealed body moved to another row does not open.
import { randomUUID } from 'node:crypto';
import { and, asc, desc, eq, gt, lt } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import { iacStates, iacStateVersions, users } from '../../../db/schema.ts';
import { ApiError, conflict, notFound, preconditionFailed } from '../../errors.ts';
import { toPage, type PageRequest } from '../../pagination.ts';
import { audit, type Transaction } from '../audit/service.ts';
import type { IacState, IacStateDocument, IacStateLock, IacStateLockCreate, IacStateVersion } from './schemas.ts';

type StateRow = typeof iacStates.$inferSelect;
type VersionRow = typeof iacStateVersions.$inferSelect;

export const stateSealContext = (accountId: string, name: string) => `iac-state:${accountId}:${name}`;

function lockOf(row: StateRow): IacStateLock | null {
  if (!row.lockId) return null;
  return { id: row.lockId, who: row.lockWho ?? '', operation: row.lockOperation ?? '', created_at: row.lockedAt!.toISOString(), user_id: row.lockedBy };
}

function serialize(row: StateRow, size: number | null, writtenAt: Date | null): IacState {
  return {
    name: row.name, serial: row.serial, lineage: row.lineage, size, lock: lockOf(row),
    created_at: row.createdAt.toISOString(), updated_at: writtenAt?.toISOString() ?? null,
  };
}

function serializeVersion(row: Omit<VersionRow, 'body'>): IacStateVersion {
  return { serial: row.serial, lineage: row.lineage, size: row.size, created_at: row.createdAt.toISOString(), created_by: row.createdBy };
}

/** 409 `state_locked`, naming the holder, so the caller can tell who to ask (or force-unlock). */
function locked(name: string, lock: IacStateLock): ApiError {
  return new ApiError(409, 'state_locked', 'Conflict',
    `State "${name}" is locked by ${lock.who} (${lock.operation}) since ${lock.created_at}; lock id ${lock.id}.`, { extra: { lock } });
}

const where = (ctx: RequestContext, name: string) => and(eq(iacStates.accountId, ctx.accountId), eq(iacStates.name, name));

/** The state's row, locked for the rest of the transaction; created (and rolled back with a failure) when absent. */
async function rowForUpdate(deps: AppDeps, tx: Transaction, ctx: RequestContext, name: string): Promise<StateRow> {
  await tx.insert(iacStates).values({ accountId: ctx.accountId, name, createdAt: deps.clock.now(), updatedAt: deps.clock.now() }).onConflictDoNothing();
  const [row] = await tx.select().from(iacStates).where(where(ctx, name)).for('update');
  return row!;
}

/** A write while another run holds the lock is refused; the holder names its lock with `Coffer-Lock-Id`. */
function checkLock(row: StateRow, lockId: string | undefined) {
  const lock = lockOf(row);
  if (lock && lock.id !== lockId) throw locked(row.name, lock);
}

async function currentVersion(deps: AppDeps, ctx: RequestContext, row: StateRow) {
  if (row.serial === null) return null;
  const [v] = await deps.db.select().from(iacStateVersions)
    .where(and(eq(iacStateVersions.accountId, ctx.accountId), eq(iacStateVersions.name, row.name), eq(iacStateVersions.serial, row.serial)));
  return v ?? null;
}

export async function listStates(deps: AppDeps, ctx: RequestContext, page: PageRequest) {
  const rows = await deps.db
    .select({ state: iacStates, size: iacStateVersions.size, writtenAt: iacStateVersions.createdAt })
    .from(iacStates)
    .leftJoin(iacStateVersions, and(eq(iacStateVersions.accountId, iacStates.accountId), eq(iacStateVersions.name, iacStates.name), eq(iacStateVersions.serial, iacStates.serial)))
    .where(and(eq(iacStates.accountId, ctx.accountId), page.after === undefined ? undefined : gt(iacStates.name, page.after)))
    .orderBy(asc(iacStates.name))
    .limit(page.limit + 1);
  return toPage(rows.map((r) => ({ ...r, id: r.state.name })), page.limit, (r) => serialize(r.state, r.size, r.writtenAt));
}

async function findState(deps: AppDeps, ctx: RequestContext, name: string): Promise<StateRow> {
  const [row] = await deps.db.select().from(iacStates).where(where(ctx, name));
  if (!row || row.serial === null) throw notFound('State', name);
  return row;
}

/** The current document, exactly as written, and its serial (the ETag). */
export async function getState(deps: AppDeps, ctx: RequestContext, name: string) {
  const row = await findState(deps, ctx, name);
  const version = await currentVersion(deps, ctx, row);
  if (!version) throw notFound('State', name);
  return { json: deps.keyring.openSecret(version.body, stateSealContext(ctx.accountId, name)), serial: version.serial };
}

export async function listVersions(deps: AppDeps, ctx: RequestContext, name: string, page: PageRequest) {
  await findState(deps, ctx, name);
  const after = page.after === undefined ? undefined : Number(page.after);
  const rows = await deps.db
    .select({ serial: iacStateVersions.serial, lineage: iacStateVersions.lineage, size: iacStateVersions.size, createdAt: iacStateVersions.createdAt, createdBy: iacStateVersions.createdBy })
    .from(iacStateVersions)
    .where(and(
      eq(iacStateVersions.accountId, ctx.accountId), eq(iacStateVersions.name, name),
      after === undefined || !Number.isInteger(after) ? undefined : lt(iacStateVersions.serial, after),
    ))
    .orderBy(desc(iacStateVersions.serial))
    .limit(page.limit + 1);
  return toPage(rows.map((r) => ({ ...r, accountId: ctx.accountId, name, id: String(r.serial) })), page.limit, serializeVersion);
}

export async function getVersion(deps: AppDeps, ctx: RequestContext, name: string, serial: number) {
  await findState(deps, ctx, name);
  const [v] = await deps.db.select().from(iacStateVersions)
    .where(and(eq(iacStateVersions.accountId, ctx.accountId), eq(iacStateVersions.name, name), eq(iacStateVersions.serial, serial)));
  if (!v) throw notFound(`Version ${serial} of state`, name);
  return { json: deps.keyring.openSecret(v.body, stateSealContext(ctx.accountId, name)), serial: v.serial };
}

export interface WriteConditions {
  /** The serial the caller based its document on (If-Match); undefined: the state must not exist yet. */
  expected: number | undefined;
  lockId: string | undefined;
}

/**
 * Stores a new version. Without If-Match the state must not exist yet (two first applies cannot both
 * win); with it, the stored serial must be the one named. The new serial must be higher and the
 * lineage the same. Writing the current version again (same serial, same bytes) is a no-op, so a
 * retried PUT whose answer was lost does not fail.
 */
export async function putState(deps: AppDeps, ctx: RequestContext, name: string, doc: IacStateDocument, conditions: WriteConditions) {
  const json = JSON.stringify(doc);
  const size = Buffer.byteLength(json);
  return deps.db.transaction(async (tx) => {
    const row = await rowForUpdate(deps, tx, ctx, name);
    checkLock(row, conditions.lockId);
    if (row.serial !== null && doc.serial === row.serial) {
      const current = await currentVersion(deps, ctx, row);
      if (current && deps.keyring.openSecret(current.body, stateSealContext(ctx.accountId, name)) === json) {
        return { state: serialize(row, current.size, current.createdAt), serial: row.serial, created: false };
      }
    }
    if (row.serial === null && conditions.expected !== undefined) {
      throw preconditionFailed(`State "${name}" does not exist yet; write it without If-Match.`);
    }
    if (row.serial !== null && conditions.expected === undefined) {
      throw preconditionFailed(`State "${name}" already exists at serial ${row.serial}; send If-Match: "v${row.serial}" with a document based on it.`);
    }
    if (row.serial !== null && conditions.expected !== row.serial) {
      throw preconditionFailed(`State "${name}" is at serial ${row.serial}, not ${conditions.expected}: someone wrote it since you read it.`);
    }
    if (row.lineage !== null && doc.lineage !== row.lineage) {
      throw conflict('lineage_mismatch', `State "${name}" has lineage ${row.lineage}; this document (lineage ${doc.lineage}) belongs to another state.`);
    }
    if (row.serial !== null && doc.serial <= row.serial) {
      throw conflict('serial_not_increased', `The document's serial (${doc.serial}) must be greater than the stored serial (${row.serial}).`);
    }
    const now = deps.clock.now();
    await tx.insert(iacStateVersions).values({
      accountId: ctx.accountId, name, serial: doc.serial, lineage: doc.lineage, size,
      body: deps.keyring.sealSecret(json, stateSealContext(ctx.accountId, name)), createdBy: ctx.userId, createdAt: now,
    });
    const [updated] = await tx.update(iacStates).set({ serial: doc.serial, lineage: doc.lineage, updatedAt: now }).where(where(ctx, name)).returning();
    await audit(deps, ctx, {
      type: 'iac_state_written', description: `IaC state "${name}" written (serial ${doc.serial})`,
      details: { state: name, serial: doc.serial, previous_serial: row.serial, lineage: doc.lineage, size },
    }, tx);
    return { state: serialize(updated!, size, now), serial: doc.serial, created: row.serial === null };
  });
}

export async function deleteState(deps: AppDeps, ctx: RequestContext, name: string, conditions: WriteConditions) {
  await deps.db.transaction(async (tx) => {
    const row = await rowForUpdate(deps, tx, ctx, name);
    if (row.serial === null) throw notFound('State', name);
    checkLock(row, conditions.lockId);
    if (conditions.expected !== undefined && conditions.expected !== row.serial) {
      throw preconditionFailed(`State "${name}" is at serial ${row.serial}, not ${conditions.expected}.`);
    }
    await tx.delete(iacStates).where(where(ctx, name));
    await audit(deps, ctx, { type: 'iac_state_deleted', description: `IaC state "${name}" deleted with its history`, details: { state: name, serial: row.serial, lineage: row.lineage } }, tx);
  });
}

/** Takes the lock (a state that does not exist yet can be locked: a first apply locks before it writes). */
export async function lockState(deps: AppDeps, ctx: RequestContext, name: string, input: IacStateLockCreate): Promise<IacStateLock> {
  return deps.db.transaction(async (tx) => {
    const row = await rowForUpdate(deps, tx, ctx, name);
    const held = lockOf(row);
    if (held) throw locked(name, held);
    const now = deps.clock.now();
    const [updated] = await tx.update(iacStates)
      .set({ lockId: randomUUID(), lockWho: input.who, lockOperation: input.operation, lockedAt: now, lockedBy: ctx.userId })
      .where(where(ctx, name)).returning();
    const lock = lockOf(updated!)!;
    await audit(deps, ctx, { type: 'iac_state_locked', description: `IaC state "${name}" locked by ${input.who} (${input.operation})`, details: { state: name, lock } }, tx);
    return lock;
  });
}

/**
 * Releases the lock whose id is given. The user who took it may release it; another user only with
 * `force` (force-unlock, for a run that died holding it), which the audit log records as such.
 */
export async function unlockState(deps: AppDeps, ctx: RequestContext, name: string, id: string, force: boolean) {
  await deps.db.transaction(async (tx) => {
    const row = await rowForUpdate(deps, tx, ctx, name);
    const held = lockOf(row);
    if (!held) {
      if (row.serial === null) throw notFound('State', name);
      throw conflict('state_not_locked', `State "${name}" is not locked.`);
    }
    if (held.id !== id) throw conflict('lock_id_mismatch', `State "${name}" is locked by ${held.who} (${held.operation}) since ${held.created_at} under another lock id, ${held.id}.`);
    if (!force && held.user_id !== ctx.userId) {
      const [holder] = held.user_id ? await tx.select({ email: users.email }).from(users).where(eq(users.id, held.user_id)) : [];
      throw new ApiError(409, 'lock_held_by_another_user', 'Conflict',
        `The lock on state "${name}" was taken by ${holder?.email ?? 'another user'}; release it with force=true (force-unlock) if its run is gone.`, { extra: { lock: held } });
    }
    if (row.serial === null) await tx.delete(iacStates).where(where(ctx, name));
    else await tx.update(iacStates).set({ lockId: null, lockWho: null, lockOperation: null, lockedAt: null, lockedBy: null }).where(where(ctx, name));
    await audit(deps, ctx, {
      type: force ? 'iac_state_force_unlocked' : 'iac_state_unlocked',
      description: force ? `IaC state "${name}": lock of ${held.who} (${held.operation}) force-released` : `IaC state "${name}" unlocked`,
      details: { state: name, lock: held, forced: force },
    }, tx);
  });
}
