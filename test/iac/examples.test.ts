// The configurations in examples/iac/ applied as a pipeline applies them, against a live server
// and the Dropbox emulator: apply, a second plan with no changes (no perpetual drift), destroy,
// and nothing left behind.
import t from 'tap';
import { cp, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLiveTeam } from '../helpers/live-team.ts';
import { APP_KEY } from '../helpers/dropbox.ts';
import { iacDir } from '../helpers/iac.ts';

const EXAMPLES = fileURLToPath(new URL('../../examples/iac/', import.meta.url));
/** Examples with a test of their own: admin keeps its state in Coffer (test/iac/example-admin.test.ts). */
const OWN_TEST = new Set(['admin']);

t.test('examples/iac: apply, then no changes, then destroy leaves nothing', async (t) => {
  const team = await startLiveTeam(t, {});
  const { api, account } = team;
  for (const name of (await readdir(EXAMPLES)).sort().filter((n) => !OWN_TEST.has(n))) {
    await t.test(name, async (t) => {
      const w = await iacDir(t, api, account.key);
      await cp(join(EXAMPLES, name), w.dir, { recursive: true });
      w.env.COFFER_VAR_dropbox_refresh_token = team.emu.state.issueTeamTokens(APP_KEY).refreshToken;
      t.equal((await w.run('init')).code, 0);
      t.equal((await w.run('validate')).code, 0);
      t.equal((await w.run('fmt', '-check')).code, 0, 'formatted as fmt writes it');
      const planned = await w.run('plan', '-detailed-exitcode', '-out=tfplan');
      t.equal(planned.code, 2, planned.stderr);
      const applied = await w.run('apply', 'tfplan');
      t.equal(applied.code, 0, applied.stderr + applied.stdout);
      const again = await w.run('plan', '-detailed-exitcode');
      t.equal(again.code, 0, again.stdout + again.stderr);
      t.match(again.stdout, /No changes\./);
      const entities = (await api.request('GET', '/v1/entities?status=active', { key: account.key })).body.data;
      t.ok(entities.length >= 1, 'people adopted');
      const destroyed = await w.run('destroy', '-auto-approve');
      t.equal(destroyed.code, 0, destroyed.stderr);
      t.same((await w.state()).resources, []);
      t.same((await api.request('GET', '/v1/tasks', { key: account.key })).body.data, [], 'no task left');
      t.same((await api.request('GET', '/v1/tags', { key: account.key })).body.data, [], 'no tag left');
      t.same((await api.request('GET', '/v1/entities?status=active,paused', { key: account.key })).body.data, [], 'every adopted entity released');
    });
  }
});
