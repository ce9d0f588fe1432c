// examples/iac/admin as a pipeline runs it, with the `coffer` command against a live server and the
// state kept in Coffer: init, plan (exit 2) to a file, apply the file, plan again (exit 0: no
// perpetual drift), a second run blocked by the lock, destroy, and nothing left behind.
import t from 'tap';
import { copyFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestApp } from '../helpers/app.ts';
import { iacDir } from '../helpers/iac.ts';

const example = fileURLToPath(new URL('../../examples/iac/admin/', import.meta.url));

t.test('examples/iac/admin: plan -detailed-exitcode -out, apply tfplan, No changes, locked out while another run holds the state, force-unlock, destroy', async (t) => {
  const api = await startTestApp(t);
  const admin = await api.signUp();
  const iac = await iacDir(t, api, admin.key);
  for (const f of await readdir(example)) await copyFile(join(example, f), join(iac.dir, f));

  const init = await iac.run('init');
  t.equal(init.code, 0, init.code === 0 ? 'init' : init.stderr);
  t.equal((await iac.run('validate')).code, 0, 'validate');
  t.equal((await iac.run('fmt', '-check')).code, 0, 'formatted as fmt writes it');
  const planned = await iac.run('plan', '-detailed-exitcode', '-out=tfplan');
  t.equal(planned.code, 2, planned.code === 2 ? 'planned' : planned.stderr);
  t.match(planned.stdout, /Plan: 9 to add, 0 to change, 0 to destroy\./);
  const applied = await iac.run('apply', 'tfplan');
  t.equal(applied.code, 0, applied.code === 0 ? 'applied' : applied.stderr + applied.stdout);

  const get = async (path: string) => (await api.request('GET', path, { key: admin.key })).body;
  t.same((await get('/v1/tags')).data.map((x: { name: string }) => x.name).sort(), ['engineering', 'finance']);
  t.same((await get('/v1/users')).data.filter((u: { state: string }) => u.state === 'invited').map((u: { email: string }) => u.email).sort(), ['auditor@example.com', 'restorer@example.com']);
  t.match(await get('/v1/ip-allowlist'), { enabled: true, entries: 1 });
  t.match(await get('/v1/notifications/settings'), { frequency: 'weekly', only_on_failure: true });
  t.equal((await get('/v1/notifications/recipients')).data.length, 1);
  t.equal((await get('/v1/webhooks')).data.length, 1);
  const state = await get('/v1/iac/states/admin-example');
  t.equal(state.resources.length, 7, 'the state is in Coffer');
  t.notOk(JSON.stringify(await get('/v1/iac/states/admin-example/versions')).includes('whsec_'), 'the version list shows no content');

  const again = await iac.run('plan', '-detailed-exitcode');
  t.equal(again.code, 0, again.code === 0 ? 'again' : again.stdout + again.stderr);
  t.match(again.stdout, /No changes\./);

  // Another run while this state is locked fails on the lock, naming the holder.
  const lock = await api.request('POST', '/v1/iac/states/admin-example/lock', { key: admin.key, body: { operation: 'apply', who: 'other-pipeline@ci' } });
  t.equal(lock.status, 201);
  const blocked = await iac.run('plan');
  t.equal(blocked.code, 1);
  t.match(blocked.stderr, /locked by other-pipeline@ci \(apply/);
  // That run died: force-unlock frees the state, and the audit log says who did it.
  const unlocked = await iac.run('force-unlock', lock.body.id);
  t.equal(unlocked.code, 0, unlocked.code === 0 ? 'unlocked' : unlocked.stderr);
  t.same((await get('/v1/audit?type=iac_state_force_unlocked')).data.map((e: { details: { lock: { who: string } } }) => e.details.lock.who), ['other-pipeline@ci']);

  const destroyed = await iac.run('destroy', '-auto-approve');
  t.equal(destroyed.code, 0, destroyed.code === 0 ? 'destroyed' : destroyed.stderr + destroyed.stdout);
  t.same((await get('/v1/tags')).data, []);
  t.same((await get('/v1/users')).data.filter((u: { state: string }) => u.state === 'invited'), []);
  t.match(await get('/v1/ip-allowlist'), { enabled: false, entries: 0 });
  t.same((await get('/v1/notifications/recipients')).data, []);
  t.same((await get('/v1/webhooks')).data, []);
  t.match(await get('/v1/notifications/settings'), { frequency: 'daily', only_on_failure: false });
});
