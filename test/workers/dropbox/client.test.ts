// The Dropbox adapter under the failures Dropbox produces: rate limits (JSON and plain text),
// server errors, dropped connections, truncated bodies, expired and revoked tokens.
import t, { type Test } from 'tap';
import { DropboxCallError, DropboxTeam } from '../../../workers/dropbox/client.ts';
import { DropboxPacer } from '../../../workers/dropbox/pacer.ts';
import { DropboxAuthError } from '../../../workers/dropbox/oauth.ts';
import { isRevoked } from '../../../workers/dropbox/connection.ts';
import { listMembers } from '../../../workers/dropbox/team.ts';
import { startDropbox, APP_KEY, APP_SECRET } from '../../helpers/dropbox.ts';

async function setup(t: Test, policy = {}) {
  const emu = await startDropbox(t);
  emu.state.addMember({ email: 'admin@team.test', admin: true });
  emu.state.addMember({ email: 'bob@team.test' });
  const { refreshToken } = emu.state.issueTeamTokens(APP_KEY);
  const sleeps: number[] = [];
  let tokenRequests = 0;
  const countingFetch = (input: string | URL | Request, init?: RequestInit) => {
    if (String(input).includes('/oauth2/token')) tokenRequests++;
    return fetch(input, init);
  };
  // Sleeping moves a fake clock the pacer reads, so a Retry-After waited out by the retry is over
  // for the pacer too (as in real time).
  let fakeNow = Date.now();
  const client = new DropboxTeam({
    config: { appKey: APP_KEY, appSecret: APP_SECRET, apiUrl: emu.url },
    refreshToken,
    fetch: countingFetch,
    policy: { baseDelayMs: 1, maxDelayMs: 5, ...policy },
    sleep: async (ms) => {
      sleeps.push(ms);
      fakeNow += ms;
    },
    pacer: new DropboxPacer({ now: () => fakeNow }),
  });
  return { emu, client, sleeps, tokens: () => tokenRequests };
}

t.test('429 with Retry-After (JSON and plain text) is waited out, then succeeds', async (t) => {
  const { emu, client, sleeps } = await setup(t);
  emu.faults.add({ route: 'team/members/list_v2', kind: '429-json', retryAfter: 7, times: 1 });
  emu.faults.add({ route: 'team/members/list_v2', kind: '429-text', retryAfter: 3, times: 1 });
  const members = await listMembers(client);
  t.equal(members.length, 2);
  t.same(sleeps, [7000, 3000], 'exactly the Retry-After each response asked for');
  t.equal(emu.counters.routes['team/members/list_v2'], 3);
});

t.test('5xx, connection resets and truncated bodies are retried with back-off', async (t) => {
  const { emu, client, sleeps } = await setup(t);
  emu.faults.add({ route: 'team/members/list_v2', kind: '500', times: 1 });
  emu.faults.add({ route: 'team/members/list_v2', kind: '503', times: 1 });
  emu.faults.add({ route: 'team/members/list_v2', kind: 'reset', times: 1 });
  emu.faults.add({ route: 'team/members/list_v2', kind: 'truncate', times: 1 });
  const members = await listMembers(client);
  t.same(members.map((m) => m.email).sort(), ['admin@team.test', 'bob@team.test']);
  t.equal(sleeps.length, 4);
  t.ok(sleeps.every((ms) => ms >= 0 && ms <= 5), 'jittered back-off within the policy');
});

t.test('an error that persists surfaces after the last attempt, carrying Dropbox\'s error', async (t) => {
  const { emu, client } = await setup(t, { maxAttempts: 3 });
  emu.faults.add({ route: 'team/members/list_v2', kind: '500', times: 10 });
  const err = await listMembers(client).catch((e: unknown) => e);
  t.ok(err instanceof DropboxCallError);
  t.equal((err as DropboxCallError).status, 500);
  t.equal(emu.counters.routes['team/members/list_v2'], 3);
});

t.test('a Retry-After longer than the policy allows fails fast instead of blocking the worker', async (t) => {
  const { emu, client, sleeps } = await setup(t, { maxRetryAfterMs: 10_000 });
  emu.faults.add({ route: 'team/members/list_v2', kind: '429-json', retryAfter: 300, times: 1 });
  const err = (await listMembers(client).catch((e: unknown) => e)) as DropboxCallError;
  t.equal(err.status, 429);
  t.same(sleeps, []);
});

t.test('tokens: one refresh for concurrent callers; an expired token is refreshed and the call retried', async (t) => {
  const { emu, client, tokens } = await setup(t);
  await Promise.all(Array.from({ length: 5 }, () => listMembers(client)));
  t.equal(tokens(), 1, 'five concurrent first calls share one refresh');
  emu.faults.add({ route: 'team/members/list_v2', kind: 'expired-token', times: 1 });
  t.equal((await listMembers(client)).length, 2);
  t.equal(tokens(), 2, 'refreshed once more after Dropbox said the token expired');
  emu.state.expireAccessTokens();
  t.equal((await listMembers(client)).length, 2);
  t.equal(tokens(), 3);
});

t.test('a revoked refresh token is reported as revoked, not retried', async (t) => {
  const { emu, client, tokens } = await setup(t);
  emu.state.revokeRefreshTokens({ accessTokensToo: true });
  const err = await listMembers(client).catch((e: unknown) => e);
  t.ok(err instanceof DropboxAuthError);
  t.equal((err as DropboxAuthError).code, 'invalid_grant');
  t.ok(isRevoked(err));
  t.equal(tokens(), 1);
});

t.test('select headers: member and admin clients see a member\'s files, the team client sends none', async (t) => {
  const { emu, client } = await setup(t);
  emu.state.putFile('bob@team.test', '/notes/a.txt', 'hello');
  const bob = emu.state.findMember('bob@team.test')!;
  const admin = emu.state.firstAdmin();
  const asBob = await client.call('files/list_folder', (d) => d.filesListFolder({ path: '', recursive: true }), { selectUser: bob.teamMemberId });
  t.same(asBob.entries.map((e) => e.path_display).sort(), ['/notes', '/notes/a.txt']);
  const ns = emu.state.memberNamespace(bob).id;
  const asAdmin = await client.call('files/list_folder', (d) => d.filesListFolder({ path: '', recursive: true }), { selectAdmin: admin.teamMemberId, namespaceId: ns });
  t.same(asAdmin.entries.map((e) => e.path_display).sort(), ['/notes', '/notes/a.txt']);
  const noSelect = await client.call('files/list_folder', (d) => d.filesListFolder({ path: '' })).catch((e: unknown) => e);
  t.equal((noSelect as DropboxCallError).status, 400, 'a team token needs a select header for user routes');
});
