// Individual (Professional) accounts in the emulator: an authorization that asks for user scopes only
// yields a token linked to the personal account; that token reads and writes its own files without
// select headers, is refused on team routes and with a select header, and the account stays out of
// every team listing.
import t from 'tap';
import { Dropbox, DropboxAuth } from 'dropbox';
import { startEmulator } from './server.ts';
import { emulatorFetch, rejection } from './sdk-harness.ts';

const REDIRECT = 'http://localhost:7777/callback';

t.test('a personal account: user-linked token, own files, no team routes, hidden from the team', async (t) => {
  const emu = await startEmulator({ appKey: 'key1', appSecret: 'secret1' });
  t.teardown(() => emu.close());
  const admin = emu.state.addMember({ email: 'root@x.test', admin: true });
  const pro = emu.state.addPersonalAccount({ email: 'pat@example.test', givenName: 'Pat', surname: 'Pro' });
  emu.state.putFile(pro, '/mine.txt', 'mine');
  const f = emulatorFetch(emu);
  const auth = new DropboxAuth({ clientId: 'key1', clientSecret: 'secret1', fetch: f });

  const authUrl = new URL(String(await auth.getAuthenticationUrl(REDIRECT, 'st', 'code', 'offline')));
  authUrl.searchParams.set('scope', 'account_info.read files.metadata.read files.content.read files.content.write');
  const code = new URL((await f(authUrl.toString(), { redirect: 'manual' })).headers.get('location')!).searchParams.get('code')!;
  const grant = (await auth.getAccessTokenFromCode(REDIRECT, code)).result as Record<string, unknown>;
  t.equal(grant.account_id, pro.accountId);
  t.equal(grant.team_id, undefined, 'not a team token');
  t.notMatch(grant.scope, /team_|members\./);

  const user = new Dropbox({ accessToken: String(grant.access_token), fetch: f });
  const me = (await user.usersGetCurrentAccount()).result as unknown as Record<string, unknown>;
  t.match(me, { account_id: pro.accountId, account_type: { '.tag': 'pro' }, root_info: { '.tag': 'user', home_namespace_id: pro.homeNsId } });
  t.notOk('team' in me);
  const listed = (await user.filesListFolder({ path: '' })).result.entries.map((e) => e.name);
  t.same(listed, ['mine.txt'], 'its own files, without a select header');

  t.equal((await rejection(() => user.teamGetInfo())).status, 400, 'team routes refuse a user-linked token');
  const selecting = new Dropbox({ accessToken: String(grant.access_token), fetch: f, selectUser: admin.teamMemberId });
  t.equal((await rejection(() => selecting.filesListFolder({ path: '' }))).status, 400, 'so do select headers');

  const team = new Dropbox({ accessToken: emu.state.issueTeamTokens('key1').accessToken, fetch: f });
  const members = (await team.teamMembersListV2({})).result.members.map((m) => m.profile.email);
  t.same(members, ['root@x.test'], 'the personal account is no team member');
  const namespaces = (await team.teamNamespacesList({})).result.namespaces.map((n) => n.namespace_id);
  t.notOk(namespaces.includes(pro.homeNsId), 'nor is its namespace the team\'s');

  // Without user-only scopes the same approval is the team's, as before.
  const teamCode = new URL((await f(String(await auth.getAuthenticationUrl(REDIRECT, 'st', 'code', 'offline')), { redirect: 'manual' })).headers.get('location')!).searchParams.get('code')!;
  const teamGrant = (await auth.getAccessTokenFromCode(REDIRECT, teamCode)).result as Record<string, unknown>;
  t.equal(teamGrant.team_id, emu.state.team.id);
});
