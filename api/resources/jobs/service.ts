// Recovery jobs: restores and exports are created here (202 + the job), listed, summarized,
// canceled and resumed; download archives are served to the account and through signed links.
import { checkedEndpoint } from '../storage/endpoint.ts';
import { AzureDestinationError, azureTarget, type AzureTarget } from '../../../workers/outbound/azure-destination.ts';
import { and, asc, desc, eq, gt, gte, inArray, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import type { Readable } from 'node:stream';
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import { backupRuns, entities, jobs, tasks, users, type JobDestination, type JobSource, type JobState } from '../../../db/schema.ts';
import { newId } from '../../../db/ids.ts';
import { ApiError, conflict, forbidden, gone, invalidField, notFound } from '../../errors.ts';
import { toPage, type PageRequest } from '../../pagination.ts';
import { enqueue, QUEUES } from '../../../workers/queue.ts';
import { resolveRoots, selectionTotals } from '../../../workers/recovery/source.ts';
import { DESTINATION_SECRET_CONTEXT, type DestinationSecret } from '../../../workers/recovery/export.ts';
import { downloadToken, openArchive, parseToken, tokenValid } from '../../../workers/recovery/export-download.ts';
import { isTerminal, type JobRow } from '../../../workers/recovery/job-state.ts';
import { accountStorage } from '../../../workers/backup/storage.ts';
import { accountSecurityOf } from '../security/service.ts';
import { assertClientAllowed } from '../ip-allowlist/service.ts';
import type { Static } from '@fastify/type-provider-typebox';
import { audit } from '../audit/service.ts';
import { maskSecrets } from '../audit/changes.ts';
import { STATE_GROUPS, type ExportRequest, type Job, type JobListQuery, type JobSummary, type RestoreRequest } from './schemas.ts';
import { containsPattern } from '../../../db/like.ts';

const WINDOW_MS = 7 * 86_400_000;

/**
 * The job as the API shows it. The signed download link is a bearer credential for the whole
 * archive, so only callers who may export (`recovery:export`) see it; everyone else who may read
 * jobs sees the job with `download: null`.
 */
export function serializeJob(deps: AppDeps, ctx: RequestContext, row: JobRow): Job {
  const d = row.destination;
  const destination: Job['destination'] = {};
  if (d.mode) destination.mode = d.mode;
  if (d.entityId) destination.entity_id = d.entityId;
  const path = d.path ?? (row.checkpoint.base || undefined);
  if (path) destination.path = path;
  if (d.type) destination.type = d.type;
  for (const k of ['bucket', 'key', 'region', 'endpoint', 'container', 'blob'] as const) if (d[k]) destination[k] = d[k];
  const token = row.type === 'export' && d.type === 'download' && ctx.permissions.has('recovery:export') ? downloadToken(deps, row) : null;
  return {
    id: row.id,
    type: row.type,
    state: row.state,
    service: row.service,
    initiator: { user_id: row.initiatorId, email: row.initiatorEmail },
    task_id: row.taskId,
    task_name: row.taskName,
    entity_id: row.entityId,
    entity_name: row.entityName,
    source: { snapshot_id: row.source.snapshotId, ...(row.source.items ? { items: row.source.items } : {}) },
    snapshot_time: row.snapshotAt.toISOString(),
    destination,
    items_total: row.itemsTotal,
    items_done: row.itemsDone,
    items_failed: row.itemsFailed,
    bytes_total: row.bytesTotal,
    bytes_done: row.bytesDone,
    data_transport_calls: row.dataTransportCalls,
    errors: row.errors,
    reason: row.reason,
    cancel_requested: row.cancelRequested,
    resumable: row.type === 'restore' && (row.state === 'partially_succeeded' || row.state === 'failed'),
    download: token && row.expiresAt
      ? { url: `${deps.config.publicUrl}/v1/downloads/${token}`, expires_at: row.expiresAt.toISOString(), size: row.resultSize ?? 0, sha256: row.resultSha256 ?? null }
      : null,
    created_at: row.createdAt.toISOString(),
    started_at: row.startedAt?.toISOString() ?? null,
    finished_at: row.finishedAt?.toISOString() ?? null,
  };
}

type Source = Static<typeof RestoreRequest>['source'];

/** The snapshot (a completed run of this account), its entity and task; the chosen items resolved. */
async function resolveSource(deps: AppDeps, ctx: RequestContext, source: Source) {
  const [run] = await deps.db.select().from(backupRuns).where(and(eq(backupRuns.id, source.snapshot_id), eq(backupRuns.accountId, ctx.accountId)));
  if (!run || (run.state !== 'succeeded' && run.state !== 'partial')) throw notFound('snapshot', source.snapshot_id);
  const [entity] = await deps.db.select().from(entities).where(and(eq(entities.id, run.entityId), eq(entities.accountId, ctx.accountId)));
  const [task] = await deps.db.select().from(tasks).where(and(eq(tasks.id, run.taskId), eq(tasks.accountId, ctx.accountId)));
  if (!entity || !task) throw notFound('snapshot', source.snapshot_id);
  let roots: string[] | undefined;
  if (source.items) {
    const r = await resolveRoots(deps, ctx.accountId, entity.id, source.items);
    if (r.unknown.length) throw invalidField('/body/source/items', `Not items of this snapshot's folder: ${r.unknown.slice(0, 5).join(', ')}`);
    roots = r.roots;
  }
  const totals = await selectionTotals(deps, { accountId: ctx.accountId, entityId: entity.id, runId: run.id, roots });
  return { run, entity, task, roots, totals };
}

async function initiator(deps: AppDeps, ctx: RequestContext) {
  const [u] = await deps.db.select({ email: users.email }).from(users).where(eq(users.id, ctx.userId));
  return { initiatorId: ctx.userId, initiatorEmail: u?.email ?? null };
}

async function createJob(deps: AppDeps, ctx: RequestContext, values: Omit<typeof jobs.$inferInsert, 'id' | 'accountId' | 'createdAt' | 'state'>): Promise<Job> {
  const id = newId('job');
  const row = await deps.db.transaction(async (tx) => {
    const [created] = await tx.insert(jobs).values({ ...values, id, accountId: ctx.accountId, state: 'pending', createdAt: deps.clock.now() }).returning();
    await enqueue(deps, tx, values.type === 'restore' ? QUEUES.restore : QUEUES.export, { accountId: ctx.accountId, jobId: id }, { singletonKey: `job:${id}` });
    // What was taken out of the backups, and where to: the destination's credentials are sealed apart and never part of it.
    const job = serializeJob(deps, ctx, created!);
    await audit(deps, ctx, {
      type: `${values.type}_started`,
      description: `${values.type === 'restore' ? 'Restore' : 'Export'} of snapshot ${job.source.snapshot_id} started`,
      details: { job_id: id, task_id: job.task_id, entity_id: job.entity_id, before: null, after: maskSecrets({ source: job.source, destination: job.destination, items_total: job.items_total, bytes_total: job.bytes_total }) },
    }, tx);
    return created!;
  });
  return serializeJob(deps, ctx, row);
}

export async function createRestore(deps: AppDeps, ctx: RequestContext, body: Static<typeof RestoreRequest>): Promise<Job> {
  const { run, entity, task, roots, totals } = await resolveSource(deps, ctx, body.source);
  if (task.connectionStatus !== 'connected') throw conflict('task_not_connected', 'The backup task is not connected to Dropbox; reconnect it to restore (exports still work).');
  const d = body.destination;
  const destination: JobDestination = { mode: d.mode };
  if (d.mode === 'other_account') {
    if (!d.entity_id) throw invalidField('/body/destination/entity_id', 'other_account needs the member (entity_id) who receives the files.');
    const [target] = await deps.db.select().from(entities).where(and(eq(entities.id, d.entity_id), eq(entities.accountId, ctx.accountId)));
    if (!target) throw invalidField('/body/destination/entity_id', 'No such member.');
    if (target.taskId !== task.id || target.kind !== 'member') throw invalidField('/body/destination/entity_id', 'The destination must be a member of the same Dropbox team (an entity of the same task).');
    if (target.id === entity.id) throw invalidField('/body/destination/entity_id', 'That is the original account: use non_destructive or in_place.');
    destination.entityId = target.id;
  } else if (d.entity_id) {
    throw invalidField('/body/destination/entity_id', 'Only other_account takes entity_id.');
  }
  if (d.path) {
    if (d.mode === 'in_place') throw invalidField('/body/destination/path', 'in_place restores into the original folders.');
    destination.path = d.path.replace(/\/+$/, '');
  }
  const source: JobSource = { snapshotId: run.id, ...(roots ? { items: roots } : {}) };
  return createJob(deps, ctx, {
    type: 'restore', ...(await initiator(deps, ctx)), taskId: task.id, taskName: task.name, entityId: entity.id, entityName: entity.name, snapshotId: run.id,
    snapshotAt: run.finishedAt ?? run.startedAt, source, destination, itemsTotal: totals.files, bytesTotal: totals.bytes,
  });
}

export async function createExport(deps: AppDeps, ctx: RequestContext, body: Static<typeof ExportRequest>): Promise<Job> {
  const { run, entity, task, roots, totals } = await resolveSource(deps, ctx, body.source);
  const d = body.destination;
  const destination: JobDestination = { type: d.type };
  let secret: DestinationSecret | undefined;
  const need = (field: keyof typeof d) => {
    if (!d[field]) throw invalidField(`/body/destination/${field}`, `Required for ${d.type}.`);
  };
  if (d.type === 's3' || d.type === 'gcs') {
    need('bucket');
    need('access_key_id');
    need('secret_access_key');
    destination.bucket = d.bucket;
    if (d.key) destination.key = d.key;
    if (d.region) destination.region = d.region;
    if (d.endpoint) destination.endpoint = checkedEndpoint(deps, d.endpoint, '/body/destination/endpoint');
    if (d.force_path_style !== undefined) destination.forcePathStyle = d.force_path_style;
    secret = { access_key_id: d.access_key_id, secret_access_key: d.secret_access_key };
  } else if (d.type === 'azure') {
    need('container');
    if (!d.connection_string && !(d.account_name && d.account_key)) throw invalidField('/body/destination/connection_string', 'Azure needs connection_string, or account_name and account_key.');
    destination.container = d.container;
    if (d.blob) destination.blob = d.blob;
    if (d.endpoint) destination.endpoint = checkedEndpoint(deps, d.endpoint, '/body/destination/endpoint');
    secret = d.connection_string ? { connection_string: d.connection_string } : { account_name: d.account_name, account_key: d.account_key };
    // The URL the worker will connect to, built by Coffer's own strict parse, is what is checked.
    const pointer = d.connection_string ? '/body/destination/connection_string' : d.endpoint ? '/body/destination/endpoint' : '/body/destination/account_name';
    let target: AzureTarget;
    try {
      target = azureTarget(secret, destination.endpoint);
    } catch (err) {
      if (err instanceof AzureDestinationError) throw invalidField(d.connection_string ? pointer : '/body/destination/account_name', err.message);
      throw err;
    }
    checkedEndpoint(deps, target.url, pointer);
  }
  const source: JobSource = { snapshotId: run.id, ...(roots ? { items: roots } : {}) };
  return createJob(deps, ctx, {
    type: 'export', ...(await initiator(deps, ctx)), taskId: task.id, taskName: task.name, entityId: entity.id, entityName: entity.name, snapshotId: run.id,
    snapshotAt: run.finishedAt ?? run.startedAt, source, destination, itemsTotal: totals.files, bytesTotal: totals.bytes,
    destinationSecret: secret ? deps.keyring.sealSecret(JSON.stringify(secret), DESTINATION_SECRET_CONTEXT) : null,
  });
}

async function find(deps: AppDeps, ctx: RequestContext, id: string): Promise<JobRow> {
  const [row] = await deps.db.select().from(jobs).where(and(eq(jobs.id, id), eq(jobs.accountId, ctx.accountId)));
  if (!row) throw notFound('job', id);
  return row;
}

export async function getJob(deps: AppDeps, ctx: RequestContext, id: string): Promise<{ job: Job; version: number }> {
  const row = await find(deps, ctx, id);
  return { job: serializeJob(deps, ctx, row), version: row.version };
}

/** `failed,partially_succeeded` or a tile's group (`active`) as the states it stands for. */
export function stateFilter(filter: string): JobState[] {
  const states = new Set<JobState>();
  for (const part of filter.split(',')) for (const s of STATE_GROUPS[part] ?? [part as JobState]) states.add(s);
  return [...states];
}

/**
 * Jobs whose selected items hold `text` in a path or name. The selection is stored resolved, as
 * lowercase paths (workers/recovery/source.ts resolveRoots), so a lowercase substring is enough.
 */
function itemFilter(text: string): SQL {
  const pattern = containsPattern(text.toLowerCase());
  return sql`exists (select 1 from jsonb_array_elements_text(${jobs.source} -> 'items') as selected(path) where selected.path like ${pattern})`;
}

export async function listJobs(deps: AppDeps, ctx: RequestContext, page: PageRequest, q: Static<typeof JobListQuery>) {
  const now = deps.clock.now();
  const from = q.from ? new Date(q.from) : new Date(now.getTime() - WINDOW_MS);
  const where: SQL[] = [eq(jobs.accountId, ctx.accountId), gte(jobs.createdAt, from)];
  if (q.to) where.push(lte(jobs.createdAt, new Date(q.to)));
  if (q.type) where.push(eq(jobs.type, q.type));
  if (q.state) where.push(inArray(jobs.state, stateFilter(q.state)));
  if (q.entity_id) where.push(eq(jobs.entityId, q.entity_id));
  if (q.item) where.push(itemFilter(q.item));
  if (q.service) where.push(eq(jobs.service, q.service));
  if (q.task_id) where.push(eq(jobs.taskId, q.task_id));
  if (q.initiator) where.push(q.initiator.includes('@') ? sql`lower(${jobs.initiatorEmail}) = lower(${q.initiator})` : eq(jobs.initiatorId, q.initiator));
  const oldest = q.order === 'oldest';
  if (page.after) where.push(oldest ? gt(jobs.id, page.after) : lt(jobs.id, page.after));
  const rows = await deps.db.select().from(jobs).where(and(...where)).orderBy(oldest ? asc(jobs.id) : desc(jobs.id)).limit(page.limit + 1);
  return toPage(rows, page.limit, (r) => serializeJob(deps, ctx, r));
}

export async function summary(deps: AppDeps, ctx: RequestContext): Promise<Static<typeof JobSummary>> {
  const from = new Date(deps.clock.now().getTime() - WINDOW_MS);
  const rows = await deps.db
    .select({ state: jobs.state, n: sql<number>`count(*)::int` })
    .from(jobs)
    .where(and(eq(jobs.accountId, ctx.accountId), gte(jobs.createdAt, from)))
    .groupBy(jobs.state);
  const n = (s: string[]) => rows.filter((r) => s.includes(r.state)).reduce((a, r) => a + r.n, 0);
  return {
    from: from.toISOString(),
    in_progress: n(['pending', 'in_progress']),
    succeeded: n(['succeeded']),
    partially_succeeded_or_failed: n(['partially_succeeded', 'failed']),
    canceled: n(['canceled']),
  };
}

export async function cancelJob(deps: AppDeps, ctx: RequestContext, id: string): Promise<Job> {
  const row = await find(deps, ctx, id);
  const needed = row.type === 'restore' ? 'recovery:restore' : 'recovery:export';
  if (!ctx.permissions.has(needed)) throw forbidden('permission_denied', `Canceling this job needs the ${needed} permission.`);
  if (isTerminal(row.state)) throw conflict('job_finished', `The job already ended (${row.state}).`);
  const now = deps.clock.now();
  // A pending job is canceled at once; a running one stops at its next check (between batches / files).
  const [updated] = await deps.db
    .update(jobs)
    .set(row.state === 'pending'
      ? { cancelRequested: true, state: 'canceled', reason: 'Canceled before it started; nothing was written.', finishedAt: now, version: sql`${jobs.version} + 1` }
      : { cancelRequested: true, version: sql`${jobs.version} + 1` })
    .where(and(eq(jobs.id, id), eq(jobs.accountId, ctx.accountId), inArray(jobs.state, ['pending', 'in_progress'])))
    .returning();
  if (updated) {
    await audit(deps, ctx, {
      type: 'job_canceled', description: `${row.type === 'restore' ? 'Restore' : 'Export'} ${id} canceled`,
      details: { job_id: id, before: { state: row.state, cancel_requested: row.cancelRequested }, after: { state: updated.state, cancel_requested: updated.cancelRequested } },
    });
  }
  return serializeJob(deps, ctx, updated ?? (await find(deps, ctx, id)));
}

export async function resumeJob(deps: AppDeps, ctx: RequestContext, id: string): Promise<Job> {
  const row = await find(deps, ctx, id);
  if (row.type !== 'restore' || (row.state !== 'partially_succeeded' && row.state !== 'failed')) {
    throw conflict('job_not_resumable', 'Only a restore that stopped (partially succeeded or failed) can be resumed.');
  }
  const updated = await deps.db.transaction(async (tx) => {
    const [u] = await tx
      .update(jobs)
      .set({ state: 'pending', reason: null, finishedAt: null, cancelRequested: false, version: sql`${jobs.version} + 1` })
      .where(and(eq(jobs.id, id), eq(jobs.accountId, ctx.accountId), or(eq(jobs.state, 'partially_succeeded'), eq(jobs.state, 'failed'))))
      .returning();
    if (!u) throw conflict('job_not_resumable', 'The job changed meanwhile.');
    await enqueue(deps, tx, QUEUES.restore, { accountId: ctx.accountId, jobId: id }, { singletonKey: `job:${id}:${u.version}` });
    await audit(deps, ctx, { type: 'restore_resumed', description: `Restore ${id} resumed`, details: { job_id: id, before: { state: row.state }, after: { state: u.state } } }, tx);
    return u;
  });
  return serializeJob(deps, ctx, updated);
}

export interface Download {
  stream: Readable;
  size: number;
  filename: string;
  /** Hex SHA-256 of the archive; null for archives written before it was recorded. */
  sha256: string | null;
}

function downloadable(row: JobRow): boolean {
  return row.type === 'export' && row.destination.type === 'download' && row.state === 'succeeded' && !row.cancelRequested && !!row.resultKey && !!row.resultSecret;
}

/** A revoked archive: erased with its key (the sweep of expired archives keeps the key). */
function revoked(row: JobRow): boolean {
  return row.type === 'export' && row.destination.type === 'download' && !!row.expiresAt && (!row.resultSecret || row.cancelRequested);
}

const revokedError = () => gone('download_revoked', 'This export\'s download was revoked; run the export again.');

export async function downloadJob(deps: AppDeps, ctx: RequestContext, id: string): Promise<Download> {
  const row = await find(deps, ctx, id);
  if (row.expiresAt && row.expiresAt.getTime() <= deps.clock.now().getTime()) throw gone('download_expired', 'The archive expired 72 hours after the export finished; run the export again.');
  if (revoked(row)) throw revokedError();
  if (!downloadable(row)) throw conflict('no_download', 'This job has no downloadable result (only finished exports to `download` have one).');
  return { stream: await openArchive(deps, row), size: row.resultSize ?? 0, filename: `coffer-export-${row.id}.zip`, sha256: row.resultSha256 ?? null };
}

/**
 * Revokes an export's download: its key is forgotten and the archive erased, so the signed link
 * (whose MAC key derives from the archive key) stops working at once, wherever it was copied to.
 */
export async function revokeDownload(deps: AppDeps, ctx: RequestContext, id: string): Promise<Job> {
  const row = await find(deps, ctx, id);
  if (row.type !== 'export' || row.destination.type !== 'download') throw conflict('no_download', 'Only exports to `download` have a download to revoke.');
  if (!isTerminal(row.state)) throw conflict('job_not_finished', 'The export is still running; cancel it instead (a canceled export never gets a link).');
  const [updated] = await deps.db
    .update(jobs)
    .set({ resultKey: null, resultSecret: null, expiresAt: row.expiresAt ?? deps.clock.now(), version: sql`${jobs.version} + 1` })
    .where(and(eq(jobs.id, id), eq(jobs.accountId, ctx.accountId)))
    .returning();
  if (row.resultKey) {
    const { store } = await accountStorage(deps, ctx.accountId);
    await store.delete([row.resultKey]);
  }
  await audit(deps, ctx, { type: 'export_download_revoked', description: `Download of export ${id} revoked`, details: { job_id: id, before: { downloadable: !!row.resultSecret }, after: { downloadable: false } } });
  return serializeJob(deps, ctx, updated!);
}

/**
 * Public: the signed link. Unknown, forged, revoked or other jobs' tokens are 404; expired ones
 * 410. The link is a credential of the job's account, so that account's IP allowlist applies.
 */
export async function downloadByToken(deps: AppDeps, token: string, clientIp: string): Promise<Download> {
  const parsed = parseToken(token);
  const missing = new ApiError(404, 'not_found', 'Not Found', 'No such download.');
  if (!parsed) throw missing;
  const [row] = await deps.db.select().from(jobs).where(eq(jobs.id, parsed.jobId));
  if (!row || row.type !== 'export' || !row.expiresAt || !row.resultSecret || !tokenValid(deps, row, parsed)) throw missing;
  if (parsed.exp !== Math.floor(row.expiresAt.getTime() / 1000)) throw missing;
  const security = await accountSecurityOf(deps.db, row.accountId);
  if (security.ipAllowlistEnabled) await assertClientAllowed(deps.db, row.accountId, clientIp);
  if (row.expiresAt.getTime() <= deps.clock.now().getTime()) throw gone('download_expired', 'This download link expired (links are valid for 72 hours).');
  if (!downloadable(row)) throw missing;
  return { stream: await openArchive(deps, row), size: row.resultSize ?? 0, filename: `coffer-export-${row.id}.zip`, sha256: row.resultSha256 ?? null };
}
