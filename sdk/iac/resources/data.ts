// Data sources: what a configuration reads from Coffer without managing it.
import type { Attributes, DataSourceType } from '../types.ts';

const listOf = (description: string, attributes: Record<string, string>) => ({
  type: 'list(object)' as const, computed: true, description,
  attributes: Object.fromEntries(Object.entries(attributes).map(([k, d]) => [k, { type: 'string' as const, computed: true, description: d }])),
});

export const regions: DataSourceType = {
  name: 'coffer_regions',
  description: 'The data-center regions an account can choose.',
  attributes: {
    regions: listOf('Every region: id, name, country.', { id: 'Region id', name: 'Its name', country: 'ISO 3166-1 alpha-2' }),
    ids: { type: 'list(string)', computed: true, description: 'The region ids.' },
  },
  async read(ctx) {
    const res = await ctx.client.regions.list({ signal: ctx.signal });
    const data = (res as unknown as { data: { id: string; name: string; country: string }[] }).data;
    return { regions: data.map((r) => ({ id: r.id, name: r.name, country: r.country })), ids: data.map((r) => r.id) };
  },
};

export const account: DataSourceType = {
  name: 'coffer_account',
  description: 'The account the provider acts on.',
  attributes: {
    id: { type: 'string', computed: true, description: 'acct_…' },
    name: { type: 'string', computed: true, description: 'The account name.' },
    email: { type: 'string', computed: true, description: 'Its email address.' },
    region: { type: 'string', computed: true, description: 'Its data center.' },
    state: { type: 'string', computed: true, description: 'trial, active, past_due, suspended or pending_deletion.' },
  },
  async read(ctx) {
    const a = await ctx.client.account.get({ signal: ctx.signal });
    return { id: a.id, name: a.name, email: a.email, region: a.region, state: a.state };
  },
};

export const taskData: DataSourceType = {
  name: 'coffer_task',
  description: 'One backup task, by id or by name.',
  attributes: {
    id: { type: 'string', optional: true, computed: true, description: 'The task id; or give name.' },
    name: { type: 'string', optional: true, computed: true, description: 'The task name (exact).' },
    plan: { type: 'string', computed: true, description: 'business or professional.' },
    connection_status: { type: 'string', computed: true, description: 'pending, connected or disconnected.' },
    frequency: { type: 'string', computed: true, description: 'How often it backs up.' },
    backup_hour: { type: 'number', computed: true, description: 'The hour (UTC) backups start.' },
    auto_activate: { type: 'bool', computed: true, description: 'New entities activated automatically.' },
    region: { type: 'string', computed: true, description: 'Its data center.' },
  },
  async read(ctx, args) {
    let t: Record<string, any> | undefined;
    if (typeof args.id === 'string') t = await ctx.client.tasks.get(args.id, { signal: ctx.signal });
    else if (typeof args.name === 'string') {
      for await (const x of ctx.client.tasks.list({ name: args.name, limit: 100 } as never, { signal: ctx.signal })) if ((x as { name: string }).name === args.name) t = x as Record<string, any>;
      if (!t) throw new Error(`no task named "${args.name}"`);
    } else throw new Error('data "coffer_task" needs id or name');
    return { id: t.id, name: t.name, plan: t.plan, connection_status: t.connection_status, frequency: t.frequency, backup_hour: t.backup_hour, auto_activate: t.auto_activate, region: t.region };
  },
};

export const entities: DataSourceType = {
  name: 'coffer_entities',
  description: 'Users and team folders, filtered as GET /v1/entities filters them.',
  attributes: {
    task_id: { type: 'string', optional: true, description: 'Only this task\'s.' },
    kind: { type: 'string', optional: true, description: 'member or team_folder.' },
    status: { type: 'string', optional: true, description: 'One or more statuses, comma-separated (active: every scheduled one).' },
    q: { type: 'string', optional: true, description: 'Substring of the name or email, case-insensitive.' },
    tag: { type: 'string', optional: true, description: 'Only entities carrying this tag id.' },
    entities: listOf('Each match: id, name, email, kind, status, task_id.', { id: 'ent_…', name: 'Name', email: 'Email (members)', kind: 'member or team_folder', status: 'Backup status', task_id: 'Its task' }),
    ids: { type: 'list(string)', computed: true, description: 'The ids of the matches.' },
  },
  async read(ctx, args) {
    const query: Record<string, unknown> = { limit: 100 };
    for (const k of ['task_id', 'kind', 'status', 'q', 'tag']) if (typeof args[k] === 'string') query[k] = args[k];
    const out: Attributes[] = [];
    for await (const e of ctx.client.entities.list(query as never, { signal: ctx.signal })) {
      const x = e as Record<string, any>;
      out.push({ id: x.id, name: x.name, email: x.email, kind: x.kind, status: x.status, task_id: x.task_id });
    }
    return { entities: out, ids: out.map((e) => e.id!) };
  },
};

export const tags: DataSourceType = {
  name: 'coffer_tags',
  description: 'Every tag of the account.',
  attributes: {
    tags: listOf('Each tag: id, name.', { id: 'tag_…', name: 'Its label' }),
    ids: { type: 'list(string)', computed: true, description: 'The tag ids.' },
    by_name: { type: 'map(string)', computed: true, description: 'Tag id by name.' },
  },
  async read(ctx) {
    const out: { id: string; name: string }[] = [];
    for await (const t of ctx.client.tags.list({ limit: 100 }, { signal: ctx.signal })) out.push({ id: t.id, name: t.name });
    return { tags: out, ids: out.map((t) => t.id), by_name: Object.fromEntries(out.map((t) => [t.name, t.id])) };
  },
};
