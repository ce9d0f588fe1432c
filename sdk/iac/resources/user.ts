// coffer_user: a user of the account (`/v1/users`). Creating one invites it (Coffer mails the
// confirmation link); the email cannot change, so a new email replaces the user.
import type { Attributes, ResourceType } from '../types.ts';
import { changed, ignoreMissing, ifMatch, orNull, remote, setOnly, sortedSet } from './support.ts';

interface UserBody {
  id: string; email: string; name: string | null; role: string; permissions: string[]; services: string[];
  state: string; two_factor_enabled: boolean; created_at: string;
}

function attributes(u: UserBody): Attributes {
  return {
    id: u.id, email: u.email, name: u.name, role: u.role, permissions: sortedSet(u.permissions), services: sortedSet(u.services),
    state: u.state, two_factor_enabled: u.two_factor_enabled, created_at: u.created_at,
  };
}

const WRITABLE = ['name', 'role', 'permissions', 'services'] as const;

export const user: ResourceType = {
  name: 'coffer_user',
  description: 'A user of the account. Created as an invitation (Coffer emails the confirmation link); destroyed by removing the user.',
  schemaVersion: 1,
  attributes: {
    id: { type: 'string', computed: true, description: 'The user id (usr_…).' },
    email: { type: 'string', required: true, forcesReplacement: true, description: 'The sign-in email; it cannot change, so a new one replaces the user.' },
    name: { type: 'string', optional: true, computed: true, description: 'The display name.' },
    role: { type: 'string', required: true, description: '`administrator` (every permission) or `custom`.' },
    permissions: { type: 'set(string)', optional: true, computed: true, description: 'For a custom role, the permissions granted; an administrator reads back every permission.' },
    services: { type: 'set(string)', optional: true, computed: true, description: 'The services the user works with (default: every service).' },
    state: { type: 'string', computed: true, description: '`invited` until the email is confirmed, then `active` (or `deactivated`).' },
    two_factor_enabled: { type: 'bool', computed: true, description: 'Whether the user has set up two-factor authentication.' },
    created_at: { type: 'string', computed: true, description: 'When the user was invited.' },
  },
  async create(ctx, planned) {
    const body = setOnly(planned, ['email', 'name', 'role', 'permissions', 'services']);
    const created = await ctx.client.users.create(body as never, { idempotencyKey: ctx.idempotencyKey, signal: ctx.signal });
    return remote(created.id, attributes(created as UserBody), created);
  },
  async read(ctx, id) {
    const u = await orNull(() => ctx.client.users.get(id, { signal: ctx.signal }));
    return u && remote(u.id, attributes(u as UserBody), u);
  },
  async update(ctx, id, planned, prior, etag) {
    const body = changed(planned, prior, WRITABLE);
    // An administrator's permissions read back as "all": only a custom role sends its own.
    if (planned.role === 'administrator') delete body.permissions;
    if (Object.keys(body).length === 0) return (await user.read(ctx, id))!;
    const u = await ctx.client.users.update(id, body as never, { signal: ctx.signal, ...ifMatch(etag) });
    return remote(u.id, attributes(u as UserBody), u);
  },
  async delete(ctx, id) {
    await ignoreMissing(() => ctx.client.users.delete(id, { signal: ctx.signal }));
  },
};
