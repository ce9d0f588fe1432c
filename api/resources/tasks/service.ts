import { randomBytes } from 'node:crypto';
import { and, desc, eq, ilike, inArray, lt, sql, type SQL } from 'drizzle-orm';
import type { FastifyRequest } from 'fastify';
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import type { Tx } from '../../../db/client.ts';
import { accounts, entities, tasks } from '../../../db/schema.ts';
import { ACTIVE_STATUSES, nextBackupAt } from '../../../db/schedule.ts';
import { newId } from '../../../db/ids.ts';
import { ApiError, badRequest, conflict, gone, invalidField, notFound, preconditionFailed } from '../../errors.ts';
import { toPage, type PageRequest } from '../../pagination.ts';
import { enqueue, QUEUES } from '../../../workers/queue.ts';
import { buildAuthorizeUrl, DropboxAuthError, DropboxNotConfiguredError, exchangeCode, PERSONAL_SCOPES } from '../../../workers/dropbox/oauth.ts';
import { dropboxClient, REFRESH_TOKEN_CONTEXT } from '../../../workers/dropbox/connection.ts';
import { getAuthenticatedAdmin, getCurrentAccount, getTeamInfo } from '../../../workers/dropbox/team.ts';
import { dropboxFetch } from '../../../workers/dropbox/transport.ts';
import type { Task, TaskCreate, TaskUpdate } from './schemas.ts';
import { assertSameBrowser, hashState, pendingAuthorization } from './oauth-confirm.ts';
import { audit, type Transaction } from '../audit/service.ts';
import { beforeAfter } from '../audit/changes.ts';
import { containsPattern } from '../../../db/like.ts';
import { checkVersion } from '../../etag.ts';

/** The seed's grace period for deleted tasks and entities. */
export const GRACE_PERIOD_MS = 7 * 86_400_000;
const OAUTH_STATE_TTL_MS = 60 * 60_000;

type TaskRow = typeof tasks.$inferSelect;

export function serializeTask(row: TaskRow, region: string, authorizeUrl: string | null = null): Task {
  return {
    id: row.id,
    name: row.name,
    plan: row.plan,
    connection_status: row.connectionStatus,
    connection_error: row.connectionError,
    authorize_url: authorizeUrl,
    dropbox_team: row.dropboxTeamId ? { id: row.dropboxTeamId, name: row.dropboxTeamName } : null,
    region,
    index_for_search: row.indexForSearch,
    auto_activate: row.autoActivate,
    retain_archived_days: row.retainArchivedDays,
    retention: row.retention,
    frequency: row.frequency,
    backup_hour: row.backupHour,
    verification_frequency: row.verificationFrequency,
    data_transport: { month: row.uploadCallsMonth, calls: row.uploadCalls, limit: row.uploadLimit },
    last_discovery_at: row.lastDiscoveryAt?.toISOString() ?? null,
    paused_at: row.pausedAt?.toISOString() ?? null,
    state: row.state,
    purge_time: row.purgeAt?.toISOString() ?? null,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

function settingsColumns(input: TaskUpdate): Partial<TaskRow> {
  const out: Partial<TaskRow> = {};
  if (input.name !== undefined) out.name = input.name;
  if (input.index_for_search !== undefined) out.indexForSearch = input.index_for_search;
  if (input.auto_activate !== undefined) out.autoActivate = input.auto_activate;
  if (input.retain_archived_days !== undefined) out.retainArchivedDays = input.retain_archived_days;
  if (input.retention !== undefined) out.retention = input.retention;
  if (input.frequency !== undefined) out.frequency = input.frequency;
  if (input.backup_hour !== undefined) out.backupHour = input.backup_hour;
  if (input.verification_frequency !== undefined) out.verificationFrequency = input.verification_frequency;
  return out;
}

export function redirectUri(deps: AppDeps): string {
  return `${deps.config.publicUrl}/v1/oauth/dropbox/callback`;
}

function notConfigured(): ApiError {
  return new ApiError(503, 'dropbox_not_configured', 'Service Unavailable', 'This Coffer installation has no Dropbox app configured (COFFER_DROPBOX_APP_KEY / COFFER_DROPBOX_APP_SECRET).');
}

/**
 * A fresh OAuth `state`, stored only as a hash. The URL handed out is Coffer's confirmation page
 * (api/resources/tasks/oauth-confirm.ts), which leads on to Dropbox's authorize URL.
 */
function newAuthorization(deps: AppDeps, ctx: RequestContext): { url: string; columns: Partial<TaskRow> } {
  const state = randomBytes(24).toString('base64url');
  dropboxAuthorizeUrl(deps, state); // fails now, not on the page, when no Dropbox app is configured
  const url = `${deps.config.publicUrl}/v1/oauth/dropbox/authorize?state=${state}`;
  return {
    url,
    columns: { oauthStateHash: hashState(state), oauthStateExpiresAt: new Date(deps.clock.now().getTime() + OAUTH_STATE_TTL_MS), oauthRequestedBy: ctx.userId },
  };
}

/** Dropbox's own authorize URL for a state: where the confirmation page's Continue button leads. */
export function dropboxAuthorizeUrl(deps: AppDeps, state: string, plan: 'business' | 'professional' = 'business'): string {
  try {
    return buildAuthorizeUrl(deps.config.dropbox, { state, redirectUri: redirectUri(deps), ...(plan === 'professional' ? { scopes: PERSONAL_SCOPES } : {}) });
  } catch (err) {
    if (err instanceof DropboxNotConfiguredError) throw notConfigured();
    throw err;
  }
}

async function region(deps: AppDeps, accountId: string): Promise<string> {
  const [row] = await deps.db.select({ region: accounts.region }).from(accounts).where(eq(accounts.id, accountId));
  return row!.region;
}

/** Who approved us and which team: read once at connect time, with the new token. */
async function describeConnection(deps: AppDeps, refreshToken: string, plan: 'business' | 'professional') {
  const client = dropboxClient(deps, refreshToken);
  if (plan === 'professional') {
    // One account: its id and name stand where a team's are (the task's connection is to it).
    const me = await getCurrentAccount(client);
    return { dropboxTeamId: me.accountId, dropboxTeamName: me.name, dropboxAdminMemberId: null };
  }
  const [team, admin] = await Promise.all([getTeamInfo(client), getAuthenticatedAdmin(client)]);
  return { dropboxTeamId: team.teamId, dropboxTeamName: team.name, dropboxAdminMemberId: admin.teamMemberId };
}

async function connectedColumns(deps: AppDeps, refreshToken: string, plan: 'business' | 'professional'): Promise<Partial<TaskRow>> {
  return {
    ...(await describeConnection(deps, refreshToken, plan)),
    refreshToken: deps.keyring.sealSecret(refreshToken, REFRESH_TOKEN_CONTEXT),
    connectionStatus: 'connected',
    connectionError: null,
    oauthStateHash: null,
    oauthStateExpiresAt: null,
    oauthRequestedBy: null,
  };
}

export async function startDiscovery(deps: AppDeps, tx: Tx, task: Pick<TaskRow, 'id' | 'accountId'>) {
  await enqueue(deps, tx, QUEUES.discovery, { accountId: task.accountId, taskId: task.id }, { singletonKey: `discovery:${task.id}` });
}

export async function createTask(deps: AppDeps, ctx: RequestContext, input: TaskCreate) {
  const now = deps.clock.now();
  const base = {
    id: newId('task'),
    accountId: ctx.accountId,
    name: input.name,
    plan: input.plan ?? 'business',
    ...settingsColumns(input),
    createdAt: now,
    updatedAt: now,
  };
  const accountRegion = await region(deps, ctx.accountId);
  if (input.refresh_token !== undefined) {
    if (!deps.config.dropbox.appKey) throw notConfigured();
    let columns: Partial<TaskRow>;
    try {
      columns = await connectedColumns(deps, input.refresh_token, base.plan);
    } catch (err) {
      if (err instanceof DropboxAuthError) throw invalidField('/body/refresh_token', `Dropbox did not accept this refresh token (${err.code})`);
      throw err;
    }
    const row = await deps.db.transaction(async (tx) => {
      const [created] = await tx.insert(tasks).values({ ...base, ...columns, connectionStatus: 'connected' }).returning();
      await startDiscovery(deps, tx, created!);
      await auditTask(deps, ctx, tx, 'task_created', `Task ${created!.name} created`, null, created!);
      return created!;
    });
    return { task: serializeTask(row, accountRegion), version: row.version };
  }
  const authorization = newAuthorization(deps, ctx);
  const row = await deps.db.transaction(async (tx) => {
    const [created] = await tx.insert(tasks).values({ ...base, ...authorization.columns, connectionStatus: 'pending' }).returning();
    await auditTask(deps, ctx, tx, 'task_created', `Task ${created!.name} created`, null, created!);
    return created;
  });
  return { task: serializeTask(row!, accountRegion, authorization.url), version: row!.version };
}

/**
 * The OAuth redirect target: the `state` names the task, and the browser must be the one that
 * confirmed it on Coffer's page (a sealed cookie), or a passed-on Dropbox link would connect the
 * approver's team to whoever started it.
 */
export async function completeAuthorization(deps: AppDeps, request: FastifyRequest, query: { code?: string; state?: string; error?: string; error_description?: string }) {
  const { task, requestedBy } = await pendingAuthorization(deps, query.state);
  if (query.error) throw badRequest('authorization_denied', `Dropbox reported: ${query.error}${query.error_description ? ` (${query.error_description})` : ''}.`);
  assertSameBrowser(deps, request, query.state!);
  if (!query.code) throw badRequest('invalid_oauth_callback', 'The callback has no code parameter.');
  let columns: Partial<TaskRow>;
  try {
    const grant = await exchangeCode(deps.config.dropbox, dropboxFetch(deps.config.dropbox.apiUrl), query.code, redirectUri(deps), () => deps.clock.now().getTime());
    if (!grant.refreshToken) throw badRequest('no_refresh_token', 'Dropbox returned no refresh token (offline access was not granted).');
    if (task.plan === 'business' && !grant.teamId) throw badRequest('not_a_team', 'This Dropbox account is not a team (Business) account; for an individual (Professional) account create a task with plan "professional".');
    if (task.plan === 'professional' && grant.teamId) throw badRequest('not_a_personal_account', 'Dropbox linked a whole team, not one account; a team is backed up by a task with plan "business".');
    columns = await connectedColumns(deps, grant.refreshToken, task.plan);
  } catch (err) {
    if (err instanceof DropboxAuthError) throw badRequest('authorization_failed', `Dropbox refused the authorization code (${err.code}).`);
    throw err;
  }
  const row = await deps.db.transaction(async (tx) => {
    const [updated] = await tx
      .update(tasks)
      .set({ ...columns, version: sql`${tasks.version} + 1`, updatedAt: deps.clock.now() })
      .where(and(eq(tasks.id, task.id), eq(tasks.oauthStateHash, hashState(query.state!))))
      .returning();
    if (!updated) throw badRequest('invalid_oauth_state', 'This authorization was already used.');
    await startDiscovery(deps, tx, updated);
    // The callback carries no credential: the actor is the user who started the authorization.
    await audit(deps, updated.accountId, {
      type: 'task_connected', task: updated.name, performedBy: { userId: task.oauthRequestedBy, email: requestedBy }, ip: request.ip, userAgent: request.headers['user-agent'] ?? null,
      description: `Task ${updated.name} connected to the Dropbox team ${updated.dropboxTeamName ?? updated.dropboxTeamId}`,
      details: { task_id: updated.id, ...beforeAfter(auditView(task), auditView(updated)) },
    }, tx);
    return updated;
  });
  return serializeTask(row, await region(deps, row.accountId));
}

async function find(deps: AppDeps, ctx: RequestContext, id: string): Promise<TaskRow> {
  const [row] = await deps.db.select().from(tasks).where(and(eq(tasks.accountId, ctx.accountId), eq(tasks.id, id)));
  if (!row) throw notFound('Task', id);
  return row;
}

export async function getTask(deps: AppDeps, ctx: RequestContext, id: string) {
  const row = await find(deps, ctx, id);
  return { task: serializeTask(row, await region(deps, ctx.accountId)), version: row.version };
}

export async function listTasks(
  deps: AppDeps,
  ctx: RequestContext,
  page: PageRequest,
  filter: { state?: 'active' | 'deleted'; connection_status?: 'pending' | 'connected' | 'disconnected'; name?: string },
) {
  const conditions: (SQL | undefined)[] = [eq(tasks.accountId, ctx.accountId), eq(tasks.state, filter.state ?? 'active')];
  if (filter.connection_status) conditions.push(eq(tasks.connectionStatus, filter.connection_status));
  if (filter.name) conditions.push(ilike(tasks.name, containsPattern(filter.name)));
  if (page.after) conditions.push(lt(tasks.id, page.after));
  const rows = await deps.db.select().from(tasks).where(and(...conditions)).orderBy(desc(tasks.id)).limit(page.limit + 1);
  const accountRegion = await region(deps, ctx.accountId);
  return toPage(rows, page.limit, (r) => serializeTask(r, accountRegion));
}

/** Records a change of a task in the audit log: its before and after settings (no secret is serialized). */
function auditTask(deps: AppDeps, ctx: RequestContext, tx: Transaction, type: string, description: string, before: TaskRow | null, after: TaskRow) {
  return audit(deps, ctx, {
    type,
    task: after.name,
    description,
    details: { task_id: after.id, ...beforeAfter(before && auditView(before), auditView(after)) },
  }, tx);
}

function auditView(row: TaskRow): Partial<Task> {
  const view: Partial<Task> = serializeTask(row, '');
  delete view.region;
  delete view.authorize_url;
  return view;
}

type TaskEvent = [type: string, description: string];

async function update(deps: AppDeps, ctx: RequestContext, id: string, expected: number | undefined, set: Partial<TaskRow>, event: TaskEvent, tx?: (tx: Tx, row: TaskRow) => Promise<void>) {
  const current = await find(deps, ctx, id);
  checkVersion(expected, current.version, `Task ${id}`);
  const row = await deps.db.transaction(async (t) => {
    const [updated] = await t
      .update(tasks)
      .set({ ...set, version: current.version + 1, updatedAt: deps.clock.now() })
      .where(and(eq(tasks.accountId, ctx.accountId), eq(tasks.id, id), eq(tasks.version, current.version)))
      .returning();
    if (!updated) throw preconditionFailed(`Task ${id} changed while this request ran; fetch it again.`);
    await tx?.(t, updated);
    await auditTask(deps, ctx, t, event[0], event[1], current, updated);
    return updated;
  });
  return row;
}

export async function updateTask(deps: AppDeps, ctx: RequestContext, id: string, input: TaskUpdate, expected: number | undefined) {
  const current = await find(deps, ctx, id);
  if (current.state === 'deleted') throw conflict('task_deleted', 'A deleted task cannot be changed; undelete it first.');
  const scheduleChanged = (input.frequency !== undefined && input.frequency !== current.frequency)
    || (input.backup_hour !== undefined && input.backup_hour !== current.backupHour);
  const row = await update(deps, ctx, id, expected, settingsColumns(input), ['task_updated', `Task ${current.name} settings changed`], scheduleChanged ? (tx, updated) => rescheduleEntities(tx, updated, deps.clock.now()) : undefined);
  return { task: serializeTask(row, await region(deps, ctx.accountId)), version: row.version };
}

/**
 * Moves every scheduled entity of the task to its new frequency and backup hour, in the same
 * transaction as the change, so the new schedule applies from its first slot instead of after
 * the slot computed under the old settings.
 */
async function rescheduleEntities(tx: Tx, task: TaskRow, now: Date) {
  const rows = await tx
    .select({ id: entities.id, lastBackupAt: entities.lastBackupAt })
    .from(entities)
    .where(and(eq(entities.accountId, task.accountId), eq(entities.taskId, task.id), eq(entities.state, 'active'), inArray(entities.status, [...ACTIVE_STATUSES])));
  for (let i = 0; i < rows.length; i += 5000) {
    const values = rows.slice(i, i + 5000).map((r) => sql`(${r.id}, ${nextBackupAt(task.frequency, task.backupHour, now, r.lastBackupAt).toISOString()}::timestamptz)`);
    await tx.execute(sql`update entities e set next_backup_at = v.next, version = e.version + 1, updated_at = ${now.toISOString()}::timestamptz
      from (values ${sql.join(values, sql`, `)}) as v(id, next) where e.id = v.id and e.account_id = ${task.accountId}`);
  }
}

/**
 * Pauses every backup of the task. Entities keep their own statuses (a paused entity stays paused
 * after the task resumes); the scheduler, "back up now" and the engine skip a paused task.
 */
export async function pauseTask(deps: AppDeps, ctx: RequestContext, id: string) {
  const current = await find(deps, ctx, id);
  if (current.state === 'deleted') throw conflict('task_deleted', 'A deleted task cannot be paused; undelete it first.');
  const row = current.pausedAt ? current : await update(deps, ctx, id, undefined, { pausedAt: deps.clock.now() }, ['task_paused', `Task ${current.name} paused`]);
  return { task: serializeTask(row, await region(deps, ctx.accountId)), version: row.version };
}

/** Resumes a paused task; each entity due while it was paused runs at its next slot, not all at once. */
export async function resumeTask(deps: AppDeps, ctx: RequestContext, id: string) {
  const current = await find(deps, ctx, id);
  if (current.state === 'deleted') throw conflict('task_deleted', 'A deleted task cannot be resumed; undelete it first.');
  if (!current.pausedAt) return { task: serializeTask(current, await region(deps, ctx.accountId)), version: current.version };
  const row = await update(deps, ctx, id, undefined, { pausedAt: null }, ['task_resumed', `Task ${current.name} resumed`], (tx, updated) => rescheduleEntities(tx, updated, deps.clock.now()));
  return { task: serializeTask(row, await region(deps, ctx.accountId)), version: row.version };
}

export async function reconnectTask(deps: AppDeps, ctx: RequestContext, id: string) {
  const current = await find(deps, ctx, id);
  if (current.state === 'deleted') throw conflict('task_deleted', 'A deleted task cannot be reconnected; undelete it first.');
  const authorization = newAuthorization(deps, ctx);
  const row = await update(deps, ctx, id, undefined, authorization.columns, ['task_reconnect_started', `Task ${current.name}: a new Dropbox authorization was started`]);
  return { task: serializeTask(row, await region(deps, ctx.accountId), authorization.url), version: row.version };
}

export async function requestDiscovery(deps: AppDeps, ctx: RequestContext, id: string) {
  const task = await find(deps, ctx, id);
  if (task.state === 'deleted') throw conflict('task_deleted', 'A deleted task is not discovered.');
  if (task.connectionStatus !== 'connected') throw conflict('task_not_connected', 'Connect the task to Dropbox first.');
  await deps.db.transaction((tx) => startDiscovery(deps, tx, task));
  return { task_id: task.id, status: 'queued' as const };
}

export async function deleteTask(deps: AppDeps, ctx: RequestContext, id: string, expected: number | undefined) {
  const current = await find(deps, ctx, id);
  if (current.state === 'deleted') return { task: serializeTask(current, await region(deps, ctx.accountId)), version: current.version };
  const now = deps.clock.now();
  const row = await update(deps, ctx, id, expected, { state: 'deleted', deletedAt: now, purgeAt: new Date(now.getTime() + GRACE_PERIOD_MS) }, ['task_deleted', `Task ${current.name} deleted; its backups are erased after the grace period`]);
  return { task: serializeTask(row, await region(deps, ctx.accountId)), version: row.version };
}

export async function undeleteTask(deps: AppDeps, ctx: RequestContext, id: string) {
  const current = await find(deps, ctx, id);
  if (current.state !== 'deleted') throw conflict('not_deleted', `Task ${id} is not deleted.`);
  if (current.purgeAt && current.purgeAt <= deps.clock.now()) throw gone('grace_period_over', 'The grace period is over; the task is being erased.');
  const row = await update(deps, ctx, id, undefined, { state: 'active', deletedAt: null, purgeAt: null }, ['task_undeleted', `Task ${current.name} undeleted`]);
  return { task: serializeTask(row, await region(deps, ctx.accountId)), version: row.version };
}
