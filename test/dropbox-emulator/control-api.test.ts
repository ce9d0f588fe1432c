import t from 'tap';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Dropbox } from 'dropbox';
import { harness, rejection } from './sdk-harness.ts';

t.test('HTTP control API drives state, faults and counters', async (t) => {
  const h = await harness(t, {}, (emu) => { emu.state.addMember({ email: 'c@x.test', admin: true }); });
  const ctl = (method: string, path: string, body?: unknown) =>
    fetch(`${h.emu.url}/_emulator${path}`, { method, headers: { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
      .then(async (r) => ({ status: r.status, json: (await r.json()) as any }));

  const team = await ctl('GET', '/team');
  t.equal(team.status, 200);
  t.equal(team.json.members.length, 1);
  const memberId = team.json.members[0].teamMemberId as string;

  const put = await ctl('POST', '/files', { member_email: 'c@x.test', path: '/from-control/ä.txt', content_base64: Buffer.from('über').toString('base64') });
  t.equal(put.status, 200);
  t.equal(put.json.size, 5);
  const dbx = h.asUser(memberId);
  const dl = await dbx.filesDownload({ path: '/from-control/ä.txt' });
  t.equal((dl.result as unknown as { fileBinary: Buffer }).fileBinary.toString(), 'über');

  t.equal((await ctl('POST', '/faults', { kind: '503', route: 'files/list_folder' })).json.queued, 1);
  t.equal((await rejection(() => dbx.filesListFolder({ path: '' }))).status, 503);

  const counters = await ctl('GET', '/counters');
  t.equal(counters.json.routes['files/download'], 1);
  t.equal(counters.json.routes['files/list_folder'], 1);
  t.equal(counters.json.bytesDownloaded, 5);
  await ctl('POST', '/reset-counters');
  t.same((await ctl('GET', '/counters')).json.routes, {});

  t.equal((await ctl('DELETE', '/files', { member_email: 'c@x.test', path: '/from-control/ä.txt' })).status, 200);
  t.equal((await rejection(() => dbx.filesGetMetadata({ path: '/from-control/ä.txt' }))).status, 409);
  t.equal((await ctl('POST', '/nope')).status, 404);
});

t.test('main.ts prints the URL first and serves the sample team', async (t) => {
  const mainPath = fileURLToPath(new URL('./main.ts', import.meta.url));
  const env = { ...process.env };
  delete env.TAP; // main.ts skips itself when tap runs it as a "test file"
  delete env.TAP_CHILD_ID;
  const child = spawn(process.execPath, [mainPath], { stdio: ['ignore', 'pipe', 'inherit'], env });
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const url = String((await lines.next()).value);
  t.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const team = (await (await fetch(`${url}/_emulator/team`)).json()) as { admin: { teamMemberId: string }; team_folders: unknown[] };
  t.equal(team.team_folders.length, 3);
  const tokens = (await (await fetch(`${url}/_emulator/tokens`, { method: 'POST' })).json()) as { accessToken: string };
  const rewrite = (u: string, init?: RequestInit) => { const x = new URL(u); return fetch(`${url}${x.pathname}${x.search}`, init); };
  const members = await new Dropbox({ accessToken: tokens.accessToken, fetch: rewrite }).teamMembersListV2({ include_removed: true });
  t.equal(members.result.members.length, 6);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  t.equal(await exited, 0);
});
