// The emulated team: members, team folders, namespaces with their trees, OAuth tokens, features and limits.
// Mutation helpers here are what tests use to change the "remote" Dropbox behind Coffer's back.
import { IdSource, dropboxTimestamp } from './ids.ts';
import { recordSecret } from '../helpers/secret-record.ts';
import { NamespaceTree, TreeNotFound, type TreeEntry, type TreeIndexes, type WriteOptions, type FileRevision } from './namespace-tree.ts';

export type MemberStatus = 'active' | 'invited' | 'suspended' | 'removed';
export type NamespaceType = 'team_member_folder' | 'team_folder' | 'shared_folder' | 'app_folder' | 'team_member_root';

export interface Member {
  teamMemberId: string;
  accountId: string;
  email: string;
  givenName: string;
  surname: string;
  status: MemberStatus;
  /** Role ids, e.g. ['team_admin']; empty = member_only. */
  roles: string[];
  homeNsId: string;
  joinedOn: string;
  externalId?: string;
  /** An individual (Basic/Plus/Professional) account, not a member of the team: hidden from every team route. */
  personal?: boolean;
}

export interface TeamFolder {
  id: string;
  name: string;
  status: 'active' | 'archived';
}

export interface Namespace {
  id: string;
  type: NamespaceType;
  name: string;
  teamMemberId?: string;
  tree: NamespaceTree;
  /** Namespaces mounted inside this one (a team folder in a member's home): mount point path_lower → namespace id. */
  mounts: Map<string, string>;
}

export interface AccessTokenRecord {
  token: string;
  teamId: string;
  /** A user-linked token (user scopes only): the team_member_id of the account it acts as. Unset: a team token. */
  userId?: string;
  refreshToken?: string;
  expiresAtMs: number;
  revoked: boolean;
}

export interface RefreshTokenRecord {
  token: string;
  clientId: string;
  /** As AccessTokenRecord.userId. */
  userId?: string;
  scope: string;
  revoked: boolean;
}

export interface AuthCode {
  code: string;
  clientId: string;
  redirectUri?: string;
  codeChallenge?: string;
  /** 'offline' → refresh token issued; 'online' → access token only. */
  tokenAccessType: string;
  /** Set when the app asked for user scopes only: the account that approved (a user-linked grant). */
  userId?: string;
  used: boolean;
  expiresAtMs: number;
}

export interface AddMemberInput {
  email: string;
  givenName?: string;
  surname?: string;
  admin?: boolean;
  status?: MemberStatus;
  externalId?: string;
}

export interface Features {
  /** 'unlimited' or calls per month (reported by team/features/get_values). */
  uploadApiRateLimit: 'unlimited' | number;
  hasTeamSharedDropbox: boolean;
  hasDistinctMemberHomes: boolean;
}

export interface Limits {
  /** download_zip: the zip must have fewer entries than this, the top folder included (README.md, "download_zip"). */
  zipMaxFiles: number;
  /** download_zip: the folder must be smaller than this (20 GB). */
  zipMaxBytes: number;
  /** download_zip: every file in it must be smaller than this (4 GB). */
  zipMaxFileBytes: number;
  requestMaxBytes: number;
  /** Upper bound for a longpoll wait, so tests never block for the real 30–480 s. */
  longpollMaxMs: number;
}

export const MiB = 1024 * 1024;
/** The user scopes a user-linked token carries (no team_* or members.* scope). */
export const USER_SCOPES = 'account_info.read files.content.read files.content.write files.metadata.read';
export const SCOPES = 'account_info.read files.content.read files.content.write files.metadata.read members.read team_data.content.read team_data.member team_info.read';

/** A member, a member's team_member_id/email, or a namespace id. */
export type NamespaceRef = string | Member;

export class TeamState {
  readonly team: { id: string; name: string };
  readonly ids = new IdSource();
  readonly clock: () => number;
  readonly members: Member[] = [];
  readonly teamFolders: TeamFolder[] = [];
  readonly namespaces = new Map<string, Namespace>();
  readonly accessTokens = new Map<string, AccessTokenRecord>();
  readonly refreshTokens = new Map<string, RefreshTokenRecord>();
  readonly authCodes = new Map<string, AuthCode>();
  accessTokenTtlSeconds: number;
  readonly features: Features = { uploadApiRateLimit: 'unlimited', hasTeamSharedDropbox: false, hasDistinctMemberHomes: true };
  readonly limits: Limits = { zipMaxFiles: 10_000, zipMaxBytes: 20 * 1024 ** 3, zipMaxFileBytes: 4 * 1024 ** 3, requestMaxBytes: 150 * MiB, longpollMaxMs: 30_000 };
  readonly indexes: TreeIndexes;
  private readonly memberById = new Map<string, Member>();
  private readonly memberByEmail = new Map<string, Member>();

  constructor(opts: { teamName?: string; clock?: () => number; accessTokenTtlSeconds?: number } = {}) {
    this.clock = opts.clock ?? Date.now;
    this.accessTokenTtlSeconds = opts.accessTokenTtlSeconds ?? 14400;
    this.team = { id: 'dbtid:AADemulatorTeam000000000000000000', name: opts.teamName ?? 'Emulated Team' };
    this.indexes = { ids: this.ids, clock: this.clock, byId: new Map(), byRev: new Map() };
  }

  // ---- members ---------------------------------------------------------------------------------

  addMember(input: AddMemberInput): Member {
    if (this.memberByEmail.has(input.email.toLowerCase())) throw new Error(`member ${input.email} exists`);
    const [teamMemberId, accountId] = this.ids.nextMemberIds();
    const givenName = input.givenName ?? input.email.split('@')[0]!;
    const surname = input.surname ?? 'Tester';
    const ns = this.addNamespace('team_member_folder', `${givenName} ${surname}`, teamMemberId);
    const member: Member = {
      teamMemberId, accountId, email: input.email, givenName, surname,
      status: input.status ?? 'active',
      roles: input.admin ? ['team_admin'] : [],
      homeNsId: ns.id,
      joinedOn: dropboxTimestamp(this.clock()),
      externalId: input.externalId,
    };
    this.members.push(member);
    this.mountInRoot(ns.id, `${givenName} ${surname}`);
    this.memberById.set(teamMemberId, member);
    this.memberByEmail.set(input.email.toLowerCase(), member);
    return member;
  }

  /**
   * An individual Dropbox account (Professional, say) outside the team. It approves the OAuth
   * requests that ask for user scopes only, and its tokens act as it without any select header.
   */
  addPersonalAccount(input: { email: string; givenName?: string; surname?: string }): Member {
    const root = this.teamRootNsId;
    this.teamRootNsId = undefined; // not a folder of the team space
    const m = this.addMember(input);
    this.teamRootNsId = root;
    m.personal = true;
    this.personalAccount = m;
    return m;
  }

  /** Who approves a user-scoped authorization: the personal account when there is one. */
  personalAccount: Member | undefined;

  /** By team_member_id, account_id or email. */
  findMember(ref: string): Member | undefined {
    return this.memberById.get(ref) ?? this.memberByEmail.get(ref.toLowerCase()) ?? this.members.find((m) => m.accountId === ref);
  }

  member(ref: string | Member): Member {
    if (typeof ref !== 'string') return ref;
    const m = this.findMember(ref);
    if (!m) throw new Error(`no member ${ref}`);
    return m;
  }

  setMemberStatus(ref: string | Member, status: MemberStatus): Member {
    const m = this.member(ref);
    m.status = status;
    return m;
  }

  removeMember(ref: string | Member): Member {
    return this.setMemberStatus(ref, 'removed');
  }

  suspendMember(ref: string | Member): Member {
    return this.setMemberStatus(ref, 'suspended');
  }

  /** The first active team admin: who OAuth auto-approves as, and get_authenticated_admin's answer. */
  firstAdmin(): Member {
    const admin = this.members.find((m) => m.status === 'active' && m.roles.includes('team_admin'));
    if (!admin) throw new Error('team has no active team_admin');
    return admin;
  }

  memberNamespace(ref: string | Member): Namespace {
    return this.namespace(this.member(ref).homeNsId);
  }

  // ---- team folders / namespaces ----------------------------------------------------------------

  addTeamFolder(name: string): TeamFolder {
    const ns = this.addNamespace('team_folder', name);
    const folder: TeamFolder = { id: ns.id, name, status: 'active' };
    this.teamFolders.push(folder);
    this.mountInRoot(ns.id, name);
    return folder;
  }

  /**
   * Mounts a team folder inside a member's home, as Dropbox does in the team-folders configuration:
   * a folder at `path` (default `/<name>`) whose list_folder entry is a mount point
   * (`sharing_info.shared_folder_id`), and whose contents list_folder shows only with
   * include_mounted_folders (the default). The contents stay in the team folder's namespace.
   */
  mountTeamFolder(member: string | Member, folder: TeamFolder | string, path?: string): TreeEntry {
    const home = this.memberNamespace(member);
    const tf = typeof folder === 'string' ? this.teamFolders.find((f) => f.id === folder || f.name === folder) : folder;
    if (!tf) throw new Error(`no team folder ${String(folder)}`);
    const entry = home.tree.mkdirp(normalizePath(path ?? `/${tf.name}`));
    home.mounts.set(entry.pathLower, tf.id);
    return entry;
  }

  /**
   * A shared folder: its own namespace (`shared_folder` in team/namespaces/list), mounted in the home
   * of each member it is shared with (`mountSharedFolder`), as team folders are.
   */
  addSharedFolder(name: string): Namespace {
    return this.addNamespace('shared_folder', name);
  }

  mountSharedFolder(member: string | Member, folder: Namespace | string, path?: string): TreeEntry {
    const home = this.memberNamespace(member);
    const ns = typeof folder === 'string' ? this.namespace(folder) : folder;
    if (ns.type !== 'shared_folder') throw new Error(`${ns.id} is not a shared folder`);
    const entry = home.tree.mkdirp(normalizePath(path ?? `/${ns.name}`));
    home.mounts.set(entry.pathLower, ns.id);
    return entry;
  }

  /** Whether a member has the shared folder mounted in their home. */
  hasMounted(member: Member, nsId: string): boolean {
    return [...this.namespace(member.homeNsId).mounts.values()].includes(nsId);
  }

  /**
   * Turns the team into a team-space team (Dropbox's newer configuration): one team root namespace
   * holding every member's folder and every team folder, mounted in it; members' root_info is then
   * `team`, with the root as root_namespace_id (docs/dropbox.md §1.3).
   */
  useTeamSpace(): Namespace {
    if (this.teamRootNsId) return this.namespace(this.teamRootNsId);
    const root = this.addNamespace('team_member_root', this.team.name);
    this.teamRootNsId = root.id;
    this.features.hasTeamSharedDropbox = true;
    for (const m of this.members) if (!m.personal) this.mountInRoot(m.homeNsId, `${m.givenName} ${m.surname}`);
    for (const f of this.teamFolders) this.mountInRoot(f.id, f.name);
    return root;
  }

  /** The team space's root namespace id; unset for a team-folders team. */
  teamRootNsId: string | undefined;

  private mountInRoot(nsId: string, name: string): void {
    if (!this.teamRootNsId) return;
    const root = this.namespace(this.teamRootNsId);
    const entry = root.tree.mkdirp(normalizePath(`/${name}`));
    root.mounts.set(entry.pathLower, nsId);
  }

  archiveTeamFolder(id: string): TeamFolder {
    const f = this.teamFolders.find((x) => x.id === id || x.name === id);
    if (!f) throw new Error(`no team folder ${id}`);
    f.status = 'archived';
    return f;
  }

  addNamespace(type: NamespaceType, name: string, teamMemberId?: string): Namespace {
    const id = this.ids.nextNamespaceId();
    const ns: Namespace = { id, type, name, teamMemberId, tree: new NamespaceTree(id, this.indexes), mounts: new Map() };
    this.namespaces.set(id, ns);
    return ns;
  }

  namespace(id: string): Namespace {
    const ns = this.namespaces.get(id);
    if (!ns) throw new Error(`no namespace ${id}`);
    return ns;
  }

  /** Resolve a member (object, id or email) or a namespace id to a namespace. */
  resolveNamespace(ref: NamespaceRef): Namespace {
    if (typeof ref !== 'string') return this.namespace(ref.homeNsId);
    const ns = this.namespaces.get(ref);
    if (ns) return ns;
    const tf = this.teamFolders.find((f) => f.name === ref);
    if (tf) return this.namespace(tf.id);
    return this.memberNamespace(ref);
  }

  // ---- file mutations (tests act as "someone else changed Dropbox") ------------------------------

  putFile(ref: NamespaceRef, path: string, content: Buffer | string, opts: WriteOptions = {}): TreeEntry {
    const ns = this.resolveNamespace(ref);
    const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    const modifiedBy = opts.modifiedBy ?? (ns.type === 'team_member_folder' ? undefined : this.firstActiveAccountId());
    return ns.tree.writeFile(normalizePath(path), bytes, { ...opts, modifiedBy }).entry;
  }

  mkdir(ref: NamespaceRef, path: string): TreeEntry {
    return this.resolveNamespace(ref).tree.mkdirp(normalizePath(path));
  }

  move(ref: NamespaceRef, from: string, to: string): TreeEntry {
    return this.resolveNamespace(ref).tree.move(normalizePath(from).toLowerCase(), normalizePath(to));
  }

  delete(ref: NamespaceRef, path: string): TreeEntry {
    return this.resolveNamespace(ref).tree.remove(normalizePath(path).toLowerCase());
  }

  getEntry(ref: NamespaceRef, path: string): TreeEntry | undefined {
    return this.resolveNamespace(ref).tree.get(normalizePath(path).toLowerCase());
  }

  /** Bytes of the latest revision, or throws. */
  readFile(ref: NamespaceRef, path: string): Buffer {
    const e = this.getEntry(ref, path);
    if (!e || e.kind !== 'file') throw new TreeNotFound(path);
    return latestRevision(e).bytes;
  }

  /** Make every outstanding list_folder cursor (of one namespace, or all) answer 409 reset. */
  invalidateCursors(ref?: NamespaceRef): void {
    const targets = ref === undefined ? [...this.namespaces.values()] : [this.resolveNamespace(ref)];
    for (const ns of targets) ns.tree.cursorEpoch++;
  }

  // ---- tokens ----------------------------------------------------------------------------------

  issueAccessToken(refreshToken?: string, userId?: string): AccessTokenRecord {
    const linked = userId ?? (refreshToken ? this.refreshTokens.get(refreshToken)?.userId : undefined);
    const rec: AccessTokenRecord = {
      token: this.ids.nextOpaque('sl.emu'),
      teamId: this.team.id,
      ...(linked ? { userId: linked } : {}),
      refreshToken,
      expiresAtMs: this.clock() + this.accessTokenTtlSeconds * 1000,
      revoked: false,
    };
    this.accessTokens.set(rec.token, rec);
    recordSecret('Dropbox access token', rec.token);
    recordSecret('Dropbox refresh token', refreshToken);
    return rec;
  }

  /** Shortcut for tests that don't exercise OAuth: a fresh team refresh token + access token. */
  issueTeamTokens(clientId = 'emulator-app'): { accessToken: string; refreshToken: string } {
    const refresh: RefreshTokenRecord = { token: this.ids.nextOpaque('emu-rt-'), clientId, scope: SCOPES, revoked: false };
    this.refreshTokens.set(refresh.token, refresh);
    return { accessToken: this.issueAccessToken(refresh.token).token, refreshToken: refresh.token };
  }

  /** Tokens linked to one account (what an app asking for user scopes only gets). */
  issueUserTokens(member: Member, clientId = 'emulator-app'): { accessToken: string; refreshToken: string } {
    const refresh: RefreshTokenRecord = { token: this.ids.nextOpaque('emu-rt-'), clientId, scope: USER_SCOPES, revoked: false, userId: member.teamMemberId };
    this.refreshTokens.set(refresh.token, refresh);
    return { accessToken: this.issueAccessToken(refresh.token).token, refreshToken: refresh.token };
  }

  /** Simulates the app being unlinked: refresh → invalid_grant. With accessTokensToo, access tokens → 401 too. */
  revokeRefreshTokens(opts: { accessTokensToo?: boolean } = {}): void {
    for (const r of this.refreshTokens.values()) r.revoked = true;
    if (opts.accessTokensToo) for (const a of this.accessTokens.values()) a.revoked = true;
  }

  /** Force every access token past its expiry (next call → 401 expired_access_token). */
  expireAccessTokens(): void {
    for (const a of this.accessTokens.values()) a.expiresAtMs = this.clock() - 1;
  }

  private firstActiveAccountId(): string | undefined {
    return this.members.find((m) => m.status === 'active')?.accountId;
  }
}

export function latestRevision(e: TreeEntry): FileRevision {
  const r = e.revisions[e.revisions.length - 1];
  if (!r) throw new Error(`${e.pathDisplay} is a folder`);
  return r;
}

/** Helper-side path normalisation: ensure a leading slash, drop a trailing one. */
export function normalizePath(path: string): string {
  let p = path.startsWith('/') ? path : '/' + path;
  while (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  return p;
}

export function isTeamAdmin(m: Member): boolean {
  return m.roles.includes('team_admin');
}
