// Team-level reads used by discovery: who is on the team, which team folders exist, and which
// namespace holds each one's files. Every list is followed through all its pages.
import type { team } from 'dropbox';
import type { DropboxTeam } from './client.ts';

export interface TeamMember {
  teamMemberId: string;
  accountId: string | undefined;
  email: string;
  displayName: string;
  status: 'active' | 'invited' | 'suspended' | 'removed';
  /** The member's home namespace: where their files live. */
  homeNamespaceId: string;
  isAdmin: boolean;
}

export interface TeamFolder {
  teamFolderId: string;
  name: string;
  status: 'active' | 'archived' | 'archive_in_progress' | 'inactive' | 'other';
}

export interface TeamNamespace {
  namespaceId: string;
  name: string;
  type: string;
  teamMemberId: string | undefined;
}

const PAGE = 1000;

export async function listMembers(client: DropboxTeam, pageSize = PAGE): Promise<TeamMember[]> {
  const out: TeamMember[] = [];
  let page = await client.call('team/members/list_v2', (d) => d.teamMembersListV2({ limit: pageSize, include_removed: true }));
  for (;;) {
    for (const m of page.members) out.push(toMember(m));
    if (!page.has_more) return out;
    const cursor = page.cursor;
    page = await client.call('team/members/list/continue_v2', (d) => d.teamMembersListContinueV2({ cursor }));
  }
}

function toMember(info: team.TeamMemberInfoV2): TeamMember {
  const p = info.profile;
  const tag = p.status['.tag'];
  const roles = info.roles ?? [];
  return {
    teamMemberId: p.team_member_id,
    accountId: p.account_id,
    email: p.email,
    displayName: p.name.display_name,
    status: tag === 'active' || tag === 'invited' || tag === 'suspended' || tag === 'removed' ? tag : 'active',
    homeNamespaceId: p.member_folder_id,
    isAdmin: roles.some((r) => r.role_id === 'pid_dbtmr:team_admin' || /team admin/i.test(r.name)),
  };
}

export async function listTeamFolders(client: DropboxTeam, pageSize = PAGE): Promise<TeamFolder[]> {
  const out: TeamFolder[] = [];
  let page = await client.call('team/team_folder/list', (d) => d.teamTeamFolderList({ limit: pageSize }));
  for (;;) {
    for (const f of page.team_folders) {
      const tag = f.status['.tag'];
      out.push({
        teamFolderId: f.team_folder_id,
        name: f.name,
        status: tag === 'active' || tag === 'archived' || tag === 'archive_in_progress' || tag === 'inactive' ? tag : 'other',
      });
    }
    if (!page.has_more) return out;
    const cursor = page.cursor;
    page = await client.call('team/team_folder/list/continue', (d) => d.teamTeamFolderListContinue({ cursor }));
  }
}

/** Namespaces de-duplicated by id (Dropbox says the listing may repeat them). */
export async function listNamespaces(client: DropboxTeam, pageSize = PAGE): Promise<TeamNamespace[]> {
  const byId = new Map<string, TeamNamespace>();
  let page = await client.call('team/namespaces/list', (d) => d.teamNamespacesList({ limit: pageSize }));
  for (;;) {
    for (const n of page.namespaces) {
      byId.set(n.namespace_id, { namespaceId: n.namespace_id, name: n.name, type: n.namespace_type['.tag'], teamMemberId: n.team_member_id });
    }
    if (!page.has_more) return [...byId.values()];
    const cursor = page.cursor;
    page = await client.call('team/namespaces/list/continue', (d) => d.teamNamespacesListContinue({ cursor }));
  }
}

export async function getTeamInfo(client: DropboxTeam): Promise<{ teamId: string; name: string; licensedUsers: number }> {
  const info = await client.call('team/get_info', (d) => d.teamGetInfo());
  return { teamId: info.team_id, name: info.name, licensedUsers: info.num_licensed_users };
}

/** The account a user-linked token acts as (an individual account: no select header). */
export async function getCurrentAccount(client: DropboxTeam): Promise<{ accountId: string; name: string; email: string; homeNamespaceId: string }> {
  const me = await client.call('users/get_current_account', (d) => d.usersGetCurrentAccount());
  return { accountId: me.account_id, name: me.name.display_name, email: me.email, homeNamespaceId: me.root_info.home_namespace_id };
}

export async function getAuthenticatedAdmin(client: DropboxTeam): Promise<{ teamMemberId: string; email: string }> {
  const res = await client.call('team/token/get_authenticated_admin', (d) => d.teamTokenGetAuthenticatedAdmin());
  return { teamMemberId: res.admin_profile.team_member_id, email: res.admin_profile.email };
}

/** The team's monthly cap on data-transport (upload) calls; null when unlimited. */
export async function getUploadLimit(client: DropboxTeam): Promise<number | null> {
  const res = await client.call('team/features/get_values', (d) => d.teamFeaturesGetValues({ features: [{ '.tag': 'upload_api_rate_limit' }] }));
  for (const value of res.values) {
    if (value['.tag'] === 'upload_api_rate_limit') {
      const limit = value.upload_api_rate_limit;
      if (limit['.tag'] === 'limit') return limit.limit;
      return null;
    }
  }
  return null;
}
