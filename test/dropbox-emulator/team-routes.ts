// team/* routes (team token, no select header needed), users/get_current_account, auth/token/revoke.
import { ApiError, routeError, tag } from './api-error.ts';
import type { CallContext, RouteSpec } from './call-context.ts';
import type { Member, TeamState } from './state.ts';
import { memberRootInfo } from './paths.ts';

function memberProfile(m: Member): Record<string, unknown> {
  return {
    team_member_id: m.teamMemberId,
    account_id: m.accountId,
    ...(m.externalId ? { external_id: m.externalId } : {}),
    email: m.email,
    email_verified: true,
    secondary_emails: [],
    status: m.status === 'removed' ? { '.tag': 'removed', is_recoverable: true, is_disconnected: false } : { '.tag': m.status },
    name: {
      given_name: m.givenName,
      surname: m.surname,
      familiar_name: m.givenName,
      display_name: `${m.givenName} ${m.surname}`,
      abbreviated_name: (m.givenName[0] ?? '') + (m.surname[0] ?? ''),
    },
    membership_type: { '.tag': 'full' },
    ...(m.status === 'invited' ? {} : { joined_on: m.joinedOn }),
    groups: [],
    member_folder_id: m.homeNsId,
    root_folder_id: m.homeNsId,
  };
}

function memberInfoV2(m: Member): Record<string, unknown> {
  const roles = m.roles.includes('team_admin') ? [{ role_id: 'pid_dbtmr:team_admin', name: 'Team', description: 'Manage everything and access all permissions' }] : [];
  return { profile: memberProfile(m), roles };
}

/** Paging cursors for team lists are opaque base64url of {kind, offset, ...options}. */
function encodeListCursor(data: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(data)).toString('base64url');
}

function decodeListCursor(ctx: CallContext, kind: string): Record<string, unknown> & { offset: number; limit: number } {
  try {
    const c = JSON.parse(Buffer.from(String(ctx.arg?.cursor), 'base64url').toString('utf8'));
    if (c.kind === kind && Number.isInteger(c.offset)) return c;
  } catch { /* fall through */ }
  throw routeError(tag('invalid_cursor'));
}

function readLimit(ctx: CallContext, max: number): number {
  const limit = ctx.arg?.limit ?? max;
  if (!Number.isInteger(limit) || limit < 1 || limit > max) throw new ApiError(400, `Error in call to API function "${ctx.route}": request body: limit: ${limit} is not within range [1, ${max}]`);
  return limit;
}

function pageOf<T>(items: T[], offset: number, limit: number, cursorBase: Record<string, unknown>) {
  const slice = items.slice(offset, offset + limit);
  const next = offset + slice.length;
  return { slice, cursor: encodeListCursor({ ...cursorBase, offset: next, limit }), has_more: next < items.length };
}

function visibleMembers(state: TeamState, includeRemoved: boolean): Member[] {
  const team = state.members.filter((m) => !m.personal);
  return includeRemoved ? team : team.filter((m) => m.status !== 'removed');
}

function membersPage(ctx: CallContext, offset: number, limit: number, includeRemoved: boolean) {
  const p = pageOf(visibleMembers(ctx.core.state, includeRemoved), offset, limit, { kind: 'members', include_removed: includeRemoved });
  return { members: p.slice.map(memberInfoV2), cursor: p.cursor, has_more: p.has_more };
}

function teamFoldersPage(ctx: CallContext, offset: number, limit: number) {
  const p = pageOf(ctx.core.state.teamFolders, offset, limit, { kind: 'team_folders' });
  return {
    team_folders: p.slice.map((f) => ({
      team_folder_id: f.id, name: f.name, status: { '.tag': f.status }, is_team_shared_dropbox: false,
      sync_setting: { '.tag': 'default' }, content_sync_settings: [],
    })),
    cursor: p.cursor, has_more: p.has_more,
  };
}

function namespacesPage(ctx: CallContext, offset: number, limit: number) {
  const personal = new Set(ctx.core.state.members.filter((m) => m.personal).map((m) => m.homeNsId));
  const p = pageOf([...ctx.core.state.namespaces.values()].filter((ns) => !personal.has(ns.id)), offset, limit, { kind: 'namespaces' });
  return {
    namespaces: p.slice.map((ns) => ({
      name: ns.name, namespace_id: ns.id, namespace_type: { '.tag': ns.type },
      ...(ns.teamMemberId ? { team_member_id: ns.teamMemberId } : {}),
    })),
    cursor: p.cursor, has_more: p.has_more,
  };
}

function featureValue(state: TeamState, feature: string): Record<string, unknown> {
  const f = state.features;
  switch (feature) {
    case 'upload_api_rate_limit':
      return { '.tag': feature, [feature]: f.uploadApiRateLimit === 'unlimited' ? { '.tag': 'unlimited' } : { '.tag': 'limit', limit: f.uploadApiRateLimit } };
    case 'has_team_shared_dropbox':
      return { '.tag': feature, [feature]: { '.tag': feature, [feature]: f.hasTeamSharedDropbox } };
    case 'has_team_file_events':
      return { '.tag': feature, [feature]: { '.tag': 'enabled', enabled: true } };
    case 'has_team_selective_sync':
      return { '.tag': feature, [feature]: { '.tag': 'has_team_selective_sync', has_team_selective_sync: false } };
    case 'has_distinct_member_homes':
      return { '.tag': feature, [feature]: { '.tag': feature, [feature]: f.hasDistinctMemberHomes } };
    default:
      return { '.tag': 'other' };
  }
}

function getValues(ctx: CallContext): unknown {
  const features = ctx.arg?.features;
  if (!Array.isArray(features) || features.length === 0) throw routeError(tag('empty_features_list'));
  return { values: features.map((f: unknown) => featureValue(ctx.core.state, typeof f === 'string' ? f : String((f as { '.tag'?: string })['.tag']))) };
}

function currentAccount(ctx: CallContext): unknown {
  const m = ctx.actor!;
  const state = ctx.core.state;
  if (m.personal) {
    return {
      account_id: m.accountId, name: memberProfile(m).name, email: m.email, email_verified: true, disabled: false, locale: 'en',
      referral_link: 'https://db.tt/emulator', is_paired: false, account_type: { '.tag': 'pro' },
      root_info: { '.tag': 'user', root_namespace_id: m.homeNsId, home_namespace_id: m.homeNsId }, country: 'US',
    };
  }
  return {
    account_id: m.accountId,
    name: memberProfile(m).name,
    email: m.email,
    email_verified: true,
    disabled: false,
    locale: 'en',
    referral_link: 'https://db.tt/emulator',
    is_paired: false,
    account_type: { '.tag': 'business' },
    root_info: memberRootInfo(state, m),
    country: 'US',
    team: { id: state.team.id, name: state.team.name, sharing_policies: {}, office_addin_policy: { '.tag': 'disabled' } },
    team_member_id: m.teamMemberId,
  };
}

export const teamRoutes: Record<string, RouteSpec> = {
  'team/get_info': {
    style: 'rpc', auth: 'team', handler: (ctx) => {
      const s = ctx.core.state;
      const active = s.members.filter((m) => m.status === 'active' || m.status === 'invited').length;
      return { name: s.team.name, team_id: s.team.id, num_licensed_users: Math.max(active, 5), num_provisioned_users: active, num_used_licenses: active, policies: {} };
    },
  },
  'team/members/list_v2': {
    style: 'rpc', auth: 'team', handler: (ctx) => membersPage(ctx, 0, readLimit(ctx, 1000), ctx.arg?.include_removed === true),
  },
  'team/members/list/continue_v2': {
    style: 'rpc', auth: 'team', handler: (ctx) => { const c = decodeListCursor(ctx, 'members'); return membersPage(ctx, c.offset, c.limit, c.include_removed === true); },
  },
  'team/team_folder/list': { style: 'rpc', auth: 'team', handler: (ctx) => teamFoldersPage(ctx, 0, readLimit(ctx, 1000)) },
  'team/team_folder/list/continue': {
    style: 'rpc', auth: 'team', handler: (ctx) => { const c = decodeListCursor(ctx, 'team_folders'); return teamFoldersPage(ctx, c.offset, c.limit); },
  },
  'team/namespaces/list': { style: 'rpc', auth: 'team', handler: (ctx) => namespacesPage(ctx, 0, readLimit(ctx, 1000)) },
  'team/namespaces/list/continue': {
    style: 'rpc', auth: 'team', handler: (ctx) => { const c = decodeListCursor(ctx, 'namespaces'); return namespacesPage(ctx, c.offset, c.limit); },
  },
  'team/token/get_authenticated_admin': {
    style: 'rpc', auth: 'team', handler: (ctx) => {
      const admin = ctx.core.state.members.find((m) => m.status === 'active' && m.roles.includes('team_admin'));
      if (!admin) throw routeError(tag('admin_not_active'));
      return { admin_profile: memberProfile(admin) };
    },
  },
  'team/features/get_values': { style: 'rpc', auth: 'team', handler: getValues },
  'users/get_current_account': { style: 'rpc', auth: 'user', handler: currentAccount },
  'auth/token/revoke': {
    // Revokes the token, its refresh token and every sibling access token (SPEC auth.stone).
    style: 'rpc', auth: 'team', handler: (ctx) => {
      const state = ctx.core.state;
      const t = ctx.token!;
      t.revoked = true;
      if (t.refreshToken) {
        const r = state.refreshTokens.get(t.refreshToken);
        if (r) r.revoked = true;
        for (const other of state.accessTokens.values()) if (other.refreshToken === t.refreshToken) other.revoked = true;
      }
      return null;
    },
  },
};
