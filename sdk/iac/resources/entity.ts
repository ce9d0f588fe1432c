// coffer_entity: adopts a user or team folder that a task discovered (by `entity_id`, or by
// `task_id` with `email` or `team_folder_name`) and manages its activation, pause and tags.
// Destroying it releases the entity back to not_active (its snapshots stay); with
// `release_on_destroy = false` it is only forgotten. It never deletes the entity's backups.
import type { Attributes, CallContext, Remote, ResourceType } from '../types.ts';
import { NotFoundError } from '../../errors.ts';

type EntityBody = Record<string, any> & { id: string; tags: { id: string; name: string }[] };

const DISCOVERY_WAIT_MS = 60_000;

function remote(e: EntityBody, prior?: Attributes): Remote {
  return {
    id: e.id,
    attributes: {
      id: e.id,
      entity_id: e.id,
      task_id: e.task_id,
      email: e.kind === 'member' ? e.email : null,
      team_folder_name: e.kind === 'team_folder' ? e.name : null,
      paused: e.status === 'paused',
      tags: e.tags.map((t) => t.id).sort(),
      release_on_destroy: prior?.release_on_destroy ?? true,
      kind: e.kind,
      name: e.name,
      status: e.status,
      dropbox_id: e.dropbox.id,
      created_at: e.created_at,
    },
  };
}

async function act(ctx: CallContext, action: string, id: string, tagId?: string): Promise<void> {
  const res = await ctx.client.entities.applyAction({ action, entity_ids: [id], ...(tagId ? { tag_id: tagId } : {}) } as never, { signal: ctx.signal });
  const r = res.results[0];
  if (r && !r.ok) throw new Error(`${action} of ${id} refused: ${r.error?.code} (${r.error?.detail})`);
}

/** Finds the entity the configuration names, waiting for the task's discovery when it is not there yet. */
async function findEntity(ctx: CallContext, planned: Attributes): Promise<EntityBody> {
  if (typeof planned.entity_id === 'string') return (await ctx.client.entities.get(planned.entity_id, { signal: ctx.signal })) as EntityBody;
  const taskId = planned.task_id;
  const email = typeof planned.email === 'string' ? planned.email.toLowerCase() : null;
  const folder = typeof planned.team_folder_name === 'string' ? planned.team_folder_name : null;
  if (typeof taskId !== 'string' || (!email) === (!folder)) throw new Error('coffer_entity needs entity_id, or task_id with one of email and team_folder_name');
  const deadline = Date.now() + DISCOVERY_WAIT_MS;
  let asked = false;
  for (let delay = 250; ; delay = Math.min(delay * 2, 3000)) {
    for await (const e of ctx.client.entities.list({ task_id: taskId, q: email ?? folder!, kind: email ? 'member' : 'team_folder', limit: 100 } as never, { signal: ctx.signal })) {
      const found = e as EntityBody;
      if (email ? found.email?.toLowerCase() === email : found.name === folder) return found;
    }
    if (Date.now() >= deadline) throw new Error(`task ${taskId} has no ${email ? `member ${email}` : `team folder "${folder}"`} (after waiting ${DISCOVERY_WAIT_MS / 1000}s for discovery)`);
    if (!asked) {
      await ctx.client.tasks.discover(taskId, { signal: ctx.signal }).catch(() => undefined);
      asked = true;
    }
    await new Promise((r) => setTimeout(r, delay));
  }
}

async function converge(ctx: CallContext, e: EntityBody, planned: Attributes, prior: Attributes | null): Promise<void> {
  if (e.state === 'deleted') await ctx.client.entities.undelete(e.id, { signal: ctx.signal });
  const wantPaused = planned.paused === true;
  if (!prior || prior.paused !== wantPaused || e.status === 'not_active') {
    await act(ctx, 'activate', e.id);
    if (wantPaused) await act(ctx, 'pause', e.id);
  }
  if (Array.isArray(planned.tags)) {
    const have = new Set(e.tags.map((t) => t.id));
    const want = new Set(planned.tags as string[]);
    for (const t of want) if (!have.has(t)) await act(ctx, 'add_tag', e.id, t);
    for (const t of have) if (!want.has(t)) await act(ctx, 'remove_tag', e.id, t);
  }
}

async function get(ctx: CallContext, id: string): Promise<EntityBody> {
  return (await ctx.client.entities.get(id, { signal: ctx.signal })) as EntityBody;
}

export const entity: ResourceType = {
  name: 'coffer_entity',
  description: 'A user or team folder of a task, adopted: backed up (or paused) and tagged as configured.',
  schemaVersion: 1,
  attributes: {
    id: { type: 'string', computed: true, description: 'The entity id (ent_…).' },
    entity_id: { type: 'string', optional: true, computed: true, forcesReplacement: true, description: 'Adopt this entity; or name it by task_id and email / team_folder_name.' },
    task_id: { type: 'string', optional: true, computed: true, forcesReplacement: true, description: 'The task that discovered it.' },
    email: { type: 'string', optional: true, computed: true, forcesReplacement: true, description: 'A team member, by email address.' },
    team_folder_name: { type: 'string', optional: true, computed: true, forcesReplacement: true, description: 'A team folder, by name.' },
    paused: { type: 'bool', optional: true, default: false, description: 'Backups paused (true) or active (false, the default).' },
    tags: { type: 'set(string)', optional: true, computed: true, description: 'Ids of the tags it carries; unset leaves its tags alone.' },
    release_on_destroy: { type: 'bool', optional: true, default: true, description: 'On destroy, release the entity to not_active (default); false only forgets it.' },
    kind: { type: 'string', computed: true, description: 'member or team_folder.' },
    name: { type: 'string', computed: true, description: 'Its name in Dropbox.' },
    status: { type: 'string', computed: true, description: 'Backup status (scheduled, success, paused, …).' },
    dropbox_id: { type: 'string', computed: true, description: 'team_member_id or team_folder_id in Dropbox.' },
    created_at: { type: 'string', computed: true, description: 'When Coffer discovered it.' },
  },
  async create(ctx, planned) {
    const e = await findEntity(ctx, planned);
    await converge(ctx, e, planned, null);
    return remote(await get(ctx, e.id), planned);
  },
  async read(ctx, id, prior) {
    try {
      const e = await get(ctx, id);
      if (e.state === 'deleted' || (prior && e.status === 'not_active')) return null;
      return remote(e, prior);
    } catch (err) {
      if (err instanceof NotFoundError) return null;
      throw err;
    }
  },
  async update(ctx, id, planned, prior) {
    const e = await get(ctx, id);
    await converge(ctx, e, planned, prior);
    return remote(await get(ctx, id), planned);
  },
  async delete(ctx, id, prior) {
    if (prior.release_on_destroy === false) return;
    try {
      await act(ctx, 'deactivate', id);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  },
};
