// coffer_task: a backup task, the link between the account and one Dropbox team (`/v1/tasks`).
//
// `refresh_token` is write-only (sent on create, never stored): the API takes a Dropbox refresh
// token only when the task is created, so a new `refresh_token_version` replaces the task.
// Without a token the task waits for a team administrator to open `authorize_url`;
// `wait_for_connection` ("10m", "90s") makes apply wait until the task is connected (it matters
// only while creating, so like a write-only value it is neither stored nor compared).
import type { Attributes, CallContext, Remote, ResourceType } from '../types.ts';
import { NotFoundError } from '../../errors.ts';

type TaskBody = Record<string, any> & { id: string; lastResponse?: { etag?: string } };

const SETTINGS = ['name', 'index_for_search', 'auto_activate', 'retain_archived_days', 'retention', 'frequency', 'backup_hour', 'verification_frequency'] as const;

function remote(task: TaskBody, prior?: Attributes): Remote {
  return {
    id: task.id,
    attributes: {
      id: task.id,
      name: task.name,
      plan: task.plan,
      index_for_search: task.index_for_search,
      auto_activate: task.auto_activate,
      retain_archived_days: task.retain_archived_days,
      retention: task.retention,
      frequency: task.frequency,
      backup_hour: task.backup_hour,
      verification_frequency: task.verification_frequency,
      paused: task.paused_at !== null,
      // The API returns the authorization link only when it makes one (create, reconnect): keep it while still pending.
      authorize_url: task.authorize_url ?? (task.connection_status === 'pending' ? (prior?.authorize_url ?? null) : null),
      connection_status: task.connection_status,
      region: task.region,
      dropbox_team_id: task.dropbox_team?.id ?? null,
      dropbox_team_name: task.dropbox_team?.name ?? null,
      created_at: task.created_at,
    },
    ...(task.lastResponse?.etag ? { etag: task.lastResponse.etag } : {}),
  };
}

/** "90s", "10m", "1h" → milliseconds. */
export function duration(text: string): number {
  const m = /^(\d+)(ms|s|m|h)$/.exec(text.trim());
  if (!m) throw new Error(`wait_for_connection takes a duration such as "90s" or "10m", not "${text}"`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}

async function waitForConnection(ctx: CallContext, id: string, limit: string): Promise<TaskBody> {
  const deadline = Date.now() + duration(limit);
  let delay = 250;
  for (;;) {
    const task = (await ctx.client.tasks.get(id, { signal: ctx.signal })) as TaskBody;
    if (task.connection_status === 'connected') return task;
    if (Date.now() >= deadline) {
      throw new Error(`task ${id} is not connected after ${limit} (connection_status ${task.connection_status}${task.connection_error ? `: ${task.connection_error}` : ''}); a team administrator opens its authorize_url to connect it`);
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 5000);
  }
}

async function setPaused(ctx: CallContext, id: string, paused: boolean): Promise<void> {
  if (paused) await ctx.client.tasks.pause(id, { signal: ctx.signal });
  else await ctx.client.tasks.resume(id, { signal: ctx.signal });
}

export const task: ResourceType = {
  name: 'coffer_task',
  description: 'A backup task: one Dropbox team, its backup schedule and retention.',
  schemaVersion: 1,
  attributes: {
    id: { type: 'string', computed: true, description: 'The task id (task_…).' },
    name: { type: 'string', required: true, description: 'A name for the task, 1–200 characters.' },
    plan: { type: 'string', optional: true, computed: true, forcesReplacement: true, description: '"business" (default) or "professional"; fixed once the task exists.' },
    refresh_token: { type: 'string', optional: true, sensitive: true, writeOnly: true, description: 'An existing Dropbox refresh token of Coffer\'s app: connects at once, without a browser. Never stored.' },
    refresh_token_version: { type: 'number', optional: true, forcesReplacement: true, description: 'Change it to send a new refresh_token (the API takes one only on create, so the task is replaced).' },
    index_for_search: { type: 'bool', optional: true, computed: true, description: 'Index file names and text for item search.' },
    auto_activate: { type: 'bool', optional: true, computed: true, description: 'Activate newly discovered users and team folders automatically.' },
    retain_archived_days: { type: 'number', optional: true, computed: true, description: 'Keep backups of archived users / team folders this many days (null: indefinitely).' },
    retention: { type: 'object', optional: true, computed: true, description: 'How long versions are kept: { unit = "unlimited" } or { unit = "days" | "months" | "years", value = N }.', attributes: { unit: { type: 'string', required: true, description: 'unlimited, days, months or years' }, value: { type: 'number', optional: true, description: 'N units' } } },
    frequency: { type: 'string', optional: true, computed: true, description: 'every_hour, every_6_hours, every_12_hours, daily, every_3_days or weekly.' },
    backup_hour: { type: 'number', optional: true, computed: true, description: 'The hour (UTC, 0–23) scheduled backups start.' },
    verification_frequency: { type: 'string', optional: true, computed: true, description: 'Scheduled restore drills: off, weekly or monthly.' },
    paused: { type: 'bool', optional: true, computed: true, description: 'Every backup of the task paused.' },
    wait_for_connection: { type: 'string', optional: true, writeOnly: true, description: 'During apply, wait this long ("10m") for the task to be connected to Dropbox; fail after.' },
    authorize_url: { type: 'string', computed: true, description: 'Where a Dropbox team administrator approves Coffer (while connection_status is pending).' },
    connection_status: { type: 'string', computed: true, description: 'pending, connected or disconnected.' },
    region: { type: 'string', computed: true, description: 'The account\'s data center.' },
    dropbox_team_id: { type: 'string', computed: true, description: 'The connected Dropbox team.' },
    dropbox_team_name: { type: 'string', computed: true, description: 'Its name.' },
    created_at: { type: 'string', computed: true, description: 'When the task was created.' },
  },
  async create(ctx, planned) {
    const body: Record<string, unknown> = { name: planned.name };
    for (const k of SETTINGS) if (planned[k] !== undefined && planned[k] !== null && k !== 'name') body[k] = planned[k];
    if (planned.plan) body.plan = planned.plan;
    if (planned.refresh_token) body.refresh_token = planned.refresh_token;
    let created = (await ctx.client.tasks.create(body as never, { idempotencyKey: ctx.idempotencyKey, signal: ctx.signal })) as TaskBody;
    const firstUrl = created.authorize_url as string | null;
    if (planned.paused === true) await setPaused(ctx, created.id, true);
    if (typeof planned.wait_for_connection === 'string') created = await waitForConnection(ctx, created.id, planned.wait_for_connection);
    else if (planned.paused === true) created = (await ctx.client.tasks.get(created.id, { signal: ctx.signal })) as TaskBody;
    return remote(created, { authorize_url: firstUrl });
  },
  async read(ctx, id, prior) {
    try {
      const t = (await ctx.client.tasks.get(id, { signal: ctx.signal })) as TaskBody;
      if (t.state === 'deleted') return null;
      return remote(t, prior);
    } catch (err) {
      if (err instanceof NotFoundError) return null;
      throw err;
    }
  },
  async update(ctx, id, planned, prior, etag) {
    const body: Record<string, unknown> = {};
    for (const k of SETTINGS) if (planned[k] !== undefined && JSON.stringify(planned[k]) !== JSON.stringify(prior[k])) body[k] = planned[k];
    let t: TaskBody | undefined;
    if (Object.keys(body).length) t = (await ctx.client.tasks.update(id, body as never, { signal: ctx.signal, ...(etag ? { ifMatch: etag } : {}) })) as TaskBody;
    if (typeof planned.paused === 'boolean' && planned.paused !== prior.paused) await setPaused(ctx, id, planned.paused);
    if (!t || typeof planned.paused === 'boolean') t = (await ctx.client.tasks.get(id, { signal: ctx.signal })) as TaskBody;
    return remote(t, prior);
  },
  async delete(ctx, id) {
    try {
      await ctx.client.tasks.delete(id, { signal: ctx.signal });
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  },
};
