// Verifications (restore drills): started here, run by the `verification` queue
// (workers/recovery/verify.ts), read and listed here. Every query is scoped by the caller's account.
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import { conflict, notFound } from '../../errors.ts';
import { toPage, type PageRequest } from '../../pagination.ts';
import { newId } from '../../../db/ids.ts';
import type { Tx } from '../../../db/client.ts';
import { backupRuns, entities, verifications } from '../../../db/schema.ts';
import { enqueue, QUEUES } from '../../../workers/queue.ts';
import { signingKey } from '../../../workers/recovery/evidence.ts';
import type { Verification } from './schemas.ts';

type Row = typeof verifications.$inferSelect;

export const DEFAULT_SAMPLE_PERCENT = 5;

export function toVerification(r: Row): Verification {
  return {
    id: r.id,
    entity_id: r.entityId,
    task_id: r.taskId,
    snapshot_id: r.snapshotId,
    state: r.state,
    reason: r.reason,
    sample_percent: r.samplePercent,
    baseline_snapshot_id: r.baselineSnapshotId,
    files_in_snapshot: r.filesInSnapshot,
    files_changed: r.filesChanged,
    files_checked: r.filesChecked,
    files_failed: r.filesFailed,
    blocks_checked: r.blocksChecked,
    bytes_checked: r.bytesChecked,
    failures: r.failures,
    error: r.error,
    evidence: r.evidence ?? null,
    created_at: r.createdAt.toISOString(),
    started_at: r.startedAt?.toISOString() ?? null,
    finished_at: r.finishedAt?.toISOString() ?? null,
    duration_ms: r.finishedAt && r.startedAt ? Math.max(0, r.finishedAt.getTime() - r.startedAt.getTime()) : null,
  };
}

/**
 * Records a pending verification of the entity's latest snapshot and enqueues it, in the caller's
 * transaction. Null when the entity has no snapshot yet or one of its verifications is still
 * pending or running (the scheduler skips those; the API answers 409).
 */
export async function requestVerification(
  deps: Pick<AppDeps, 'boss' | 'clock'>,
  tx: Tx,
  entity: { id: string; accountId: string; taskId: string },
  opts: { samplePercent: number; reason: 'manual' | 'scheduled' },
): Promise<{ row: Row } | { refused: 'no_snapshot' | 'verification_in_progress' }> {
  // One verification of an entity at a time: serialize requesters on the entity.
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`verify-entity:${entity.id}`}, 0))`);
  const [busy] = await tx.select({ id: verifications.id }).from(verifications)
    .where(and(eq(verifications.entityId, entity.id), inArray(verifications.state, ['pending', 'running']))).limit(1);
  if (busy) return { refused: 'verification_in_progress' };
  const [latest] = await tx.select({ id: backupRuns.id }).from(backupRuns)
    .where(and(eq(backupRuns.entityId, entity.id), eq(backupRuns.accountId, entity.accountId), inArray(backupRuns.state, ['succeeded', 'partial'])))
    .orderBy(desc(backupRuns.id)).limit(1);
  if (!latest) return { refused: 'no_snapshot' };
  const [row] = await tx.insert(verifications).values({
    id: newId('ver'), accountId: entity.accountId, taskId: entity.taskId, entityId: entity.id, snapshotId: latest.id,
    state: 'pending', reason: opts.reason, samplePercent: opts.samplePercent, createdAt: deps.clock.now(),
  }).returning();
  await enqueue(deps, tx, QUEUES.verification, { accountId: entity.accountId, verificationId: row!.id }, { singletonKey: `verification:${row!.id}` });
  return { row: row! };
}

export async function startVerification(deps: AppDeps, ctx: RequestContext, entityId: string, body: { sample_percent?: number }): Promise<Verification> {
  const [entity] = await deps.db.select({ id: entities.id, accountId: entities.accountId, taskId: entities.taskId }).from(entities)
    .where(and(eq(entities.id, entityId), eq(entities.accountId, ctx.accountId)));
  if (!entity) throw notFound('Entity', entityId);
  const out = await deps.db.transaction((tx) => requestVerification(deps, tx, entity, { samplePercent: body.sample_percent ?? DEFAULT_SAMPLE_PERCENT, reason: 'manual' }));
  if ('refused' in out) {
    throw out.refused === 'no_snapshot'
      ? conflict('no_snapshot', 'This entity has no completed backup yet: there is nothing to verify.')
      : conflict('verification_in_progress', 'A verification of this entity is already pending or running; wait for it to finish.');
  }
  return toVerification(out.row);
}

export async function getVerification(deps: AppDeps, ctx: RequestContext, id: string): Promise<Verification> {
  const [row] = await deps.db.select().from(verifications).where(and(eq(verifications.id, id), eq(verifications.accountId, ctx.accountId)));
  if (!row) throw notFound('Verification', id);
  return toVerification(row);
}

export async function listVerifications(deps: AppDeps, ctx: RequestContext, page: PageRequest, q: { entity_id?: string; state?: Row['state'] }) {
  const { sql } = deps;
  const ids = await sql<{ id: string }[]>`
    select id from verifications where account_id = ${ctx.accountId}
      ${q.entity_id ? sql`and entity_id = ${q.entity_id}` : sql``}
      ${q.state ? sql`and state = ${q.state}` : sql``}
      ${page.after ? sql`and id < ${page.after}` : sql``}
    order by id desc limit ${page.limit + 1}`;
  const rows = ids.length
    ? await deps.db.select().from(verifications).where(and(eq(verifications.accountId, ctx.accountId), inArray(verifications.id, ids.map((r) => r.id)))).orderBy(desc(verifications.id))
    : [];
  return toPage(rows, page.limit, toVerification);
}

export async function verificationKey(deps: AppDeps) {
  const key = await signingKey(deps);
  return { public_key_pem: key.publicKeyPem, key_id: key.keyId, algorithm: 'Ed25519' as const };
}
