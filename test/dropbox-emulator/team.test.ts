import t from 'tap';
import { Dropbox } from 'dropbox';
import { harness, rejection } from './sdk-harness.ts';
import { seedLargeTeam } from './seed.ts';

t.test('team discovery pages across members, team folders and namespaces', async (t) => {
  let large!: ReturnType<typeof seedLargeTeam>;
  const h = await harness(t, {}, (emu) => { large = seedLargeTeam(emu.state, { members: 250, teamFolders: 30 }); });
  const { team } = h;

  // 251 members (admin + 250), every 10th of the 250 removed → 226 visible by default.
  const seen: string[] = [];
  let page = await team.teamMembersListV2({ limit: 40 });
  let pages = 1;
  seen.push(...page.result.members.map((m) => m.profile.email));
  while (page.result.has_more) {
    page = await team.teamMembersListContinueV2({ cursor: page.result.cursor });
    seen.push(...page.result.members.map((m) => m.profile.email));
    pages++;
  }
  t.equal(seen.length, 226);
  t.equal(pages, 6);
  t.equal(new Set(seen).size, 226);
  t.notOk(seen.includes('user0010@large-emu.test'), 'removed member hidden by default');

  const withRemoved: Array<{ email: string; status: string }> = [];
  page = await team.teamMembersListV2({ limit: 100, include_removed: true });
  for (;;) {
    withRemoved.push(...page.result.members.map((m) => ({ email: m.profile.email, status: m.profile.status['.tag'] })));
    if (!page.result.has_more) break;
    page = await team.teamMembersListContinueV2({ cursor: page.result.cursor });
  }
  t.equal(withRemoved.length, 251);
  t.same(withRemoved.find((m) => m.email === 'user0010@large-emu.test'), { email: 'user0010@large-emu.test', status: 'removed' });
  const adminInfo = (await team.teamMembersListV2({ limit: 1 })).result.members[0]!;
  t.equal(adminInfo.profile.team_member_id, large.admin.teamMemberId);
  t.same(adminInfo.roles?.map((r) => r.role_id), ['pid_dbtmr:team_admin']);
  t.match(adminInfo.profile.team_member_id, /^dbmid:/);
  t.match(adminInfo.profile.account_id, /^dbid:/);

  const badCursor = await rejection(() => team.teamMembersListContinueV2({ cursor: 'garbage' }));
  t.equal(badCursor.status, 409);
  t.equal(badCursor.error.error['.tag'], 'invalid_cursor');

  const folders: string[] = [];
  let tf = await team.teamTeamFolderList({ limit: 7 });
  folders.push(...tf.result.team_folders.map((x) => x.name));
  while (tf.result.has_more) {
    tf = await team.teamTeamFolderListContinue({ cursor: tf.result.cursor });
    folders.push(...tf.result.team_folders.map((x) => x.name));
  }
  t.equal(folders.length, 30);
  t.equal(folders[29], 'Team Folder 030');

  const namespaces: Array<{ id: string; type: string }> = [];
  let ns = await team.teamNamespacesList({ limit: 50 });
  namespaces.push(...ns.result.namespaces.map((n) => ({ id: n.namespace_id, type: n.namespace_type['.tag'] })));
  while (ns.result.has_more) {
    ns = await team.teamNamespacesListContinue({ cursor: ns.result.cursor });
    namespaces.push(...ns.result.namespaces.map((n) => ({ id: n.namespace_id, type: n.namespace_type['.tag'] })));
  }
  t.equal(namespaces.length, 281);
  t.equal(namespaces.filter((n) => n.type === 'team_folder').length, 30);
  t.equal(namespaces.filter((n) => n.type === 'team_member_folder').length, 251);
  t.ok(namespaces.some((n) => n.id === large.teamFolders[0]!.id), 'team_folder_id is its namespace id');
});

t.test('team info, admin, features, current account and select headers', async (t) => {
  const h = await harness(t, {}, (emu) => {
    emu.state.addMember({ email: 'boss@x.test', givenName: 'Boss', surname: 'Person', admin: true });
    emu.state.addMember({ email: 'worker@x.test' });
    emu.state.addMember({ email: 'gone@x.test', status: 'removed' });
    emu.state.addMember({ email: 'paused@x.test', status: 'suspended' });
  });
  const s = h.emu.state;
  const boss = s.findMember('boss@x.test')!;
  const worker = s.findMember('worker@x.test')!;

  const info = await h.team.teamGetInfo();
  t.equal(info.result.name, 'Emulated Team');
  t.equal(info.result.num_provisioned_users, 2);

  const admin = await h.team.teamTokenGetAuthenticatedAdmin();
  t.equal(admin.result.admin_profile.email, 'boss@x.test');
  t.equal(admin.result.admin_profile.member_folder_id, boss.homeNsId);

  s.features.uploadApiRateLimit = 25000;
  const features = await h.team.teamFeaturesGetValues({
    features: [{ '.tag': 'upload_api_rate_limit' }, { '.tag': 'has_team_shared_dropbox' }, { '.tag': 'has_distinct_member_homes' }],
  });
  t.same(features.result.values, [
    { '.tag': 'upload_api_rate_limit', upload_api_rate_limit: { '.tag': 'limit', limit: 25000 } },
    { '.tag': 'has_team_shared_dropbox', has_team_shared_dropbox: { '.tag': 'has_team_shared_dropbox', has_team_shared_dropbox: false } },
    { '.tag': 'has_distinct_member_homes', has_distinct_member_homes: { '.tag': 'has_distinct_member_homes', has_distinct_member_homes: true } },
  ]);

  const me = await h.asUser(worker.teamMemberId).usersGetCurrentAccount();
  t.equal(me.result.email, 'worker@x.test');
  t.same(me.result.root_info, { '.tag': 'user', root_namespace_id: worker.homeNsId, home_namespace_id: worker.homeNsId });

  const noSelect = await rejection(() => h.team.usersGetCurrentAccount());
  t.equal(noSelect.status, 400);
  t.type(noSelect.error, 'string');
  t.match(noSelect.error, /Dropbox-API-Select-User/);

  const removed = await rejection(() => h.asUser(s.findMember('gone@x.test')!.teamMemberId).usersGetCurrentAccount());
  t.equal(removed.status, 401);
  t.equal(removed.error.error['.tag'], 'invalid_select_user');
  const suspended = await rejection(() => h.asUser(s.findMember('paused@x.test')!.teamMemberId).usersGetCurrentAccount());
  t.equal(suspended.error.error['.tag'], 'user_suspended');
  const notAdmin = await rejection(() => h.asAdmin(worker.teamMemberId).usersGetCurrentAccount());
  t.equal(notAdmin.status, 401);
  t.equal(notAdmin.error.error['.tag'], 'invalid_select_admin');
  const asAdmin = await h.asAdmin(boss.teamMemberId).usersGetCurrentAccount();
  t.equal(asAdmin.result.account_id, boss.accountId);

  // Void routes also accept `null` JSON (non-JS clients); malformed JSON is a plain-text 400.
  await h.team.teamGetInfo(); // makes sure the auth has a token
  const token = h.auth.getAccessToken();
  const nullBody = await h.fetch('https://api.dropboxapi.com/2/team/get_info', {
    method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: 'null',
  });
  t.equal(nullBody.status, 200);
  t.ok(nullBody.headers.get('x-dropbox-request-id'));
  const broken = await h.fetch('https://api.dropboxapi.com/2/team/members/list_v2', {
    method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: '{nope',
  });
  t.equal(broken.status, 400);
  t.match(await broken.text(), /could not decode input as JSON/);
  const noAuth = await h.fetch('https://api.dropboxapi.com/2/team/get_info', { method: 'POST' });
  t.equal(noAuth.status, 400);
  const badToken = await rejection(() => new Dropbox({ accessToken: 'nope', fetch: h.fetch }).teamGetInfo());
  t.equal(badToken.status, 401);
  t.equal(badToken.error.error['.tag'], 'invalid_access_token');
});
