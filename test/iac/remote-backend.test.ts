// The `coffer` state backend against a live server: what the engine sees through StateBackend.
import t from 'tap';
import { Coffer } from '../../sdk/client.ts';
import { RemoteBackend } from '../../sdk/iac/backends/remote.ts';
import { StateError } from '../../sdk/iac/errors.ts';
import { startTestApp } from '../helpers/app.ts';

const state = (serial: number, extra: Record<string, unknown> = {}) =>
  ({ version: 1, serial, lineage: 'lin-remote', resources: [], outputs: {}, pending_creates: [], ...extra });

t.test('read, create, update with the serial as version; a state moved by another run is refused, not overwritten', async (t) => {
  const api = await startTestApp(t);
  const a = await api.signUp();
  const client = new Coffer({ baseUrl: api.url, apiKey: a.key });
  const backend = new RemoteBackend(client, 'prod');

  t.equal(await backend.read(), null, 'no state yet');
  t.equal(await backend.write(state(1), null), '1');
  const read = await backend.read();
  t.same(read, { state: state(1), version: '1' });
  t.equal(await backend.write(state(2, { outputs: { x: { value: 1, sensitive: false } } }), '1'), '2');

  const other = new RemoteBackend(client, 'prod');
  await t.rejects(other.write(state(2, { from: 'other' }), '1'), StateError, 'based on serial 1, but the state is at 2');
  await t.rejects(other.write(state(1), null), /was changed by someone else/, 'a create when the state exists');
  t.same((await backend.read())?.state, state(2, { outputs: { x: { value: 1, sensitive: false } } }), 'nothing was overwritten');
});

t.test('two runs on one state: the second fails on the lock naming the holder; the holder writes; force-unlock frees a dead run\'s lock', async (t) => {
  const api = await startTestApp(t);
  const a = await api.signUp();
  const client = new Coffer({ baseUrl: api.url, apiKey: a.key });
  const first = new RemoteBackend(client, 'prod');
  const second = new RemoteBackend(client, 'prod');

  const { id } = await first.lock({ operation: 'apply', who: 'alice@ci-1' });
  await t.rejects(second.lock({ operation: 'apply', who: 'bob@ci-2' }),
    new RegExp(`locked by alice@ci-1 \\(apply, since .*, lock ID ${id}\\).*coffer iac force-unlock ${id}`));
  await t.rejects(second.write(state(1), null), /Error saving the state: state "prod" is locked by alice@ci-1/, 'the other run cannot write');
  t.equal(await first.write(state(1), null), '1', 'the holder writes (its lock id goes with the write)');
  await first.unlock(id);
  await first.unlock(id); // releasing twice is harmless

  const dead = await first.lock({ operation: 'apply', who: 'alice@ci-1' });
  await t.rejects(second.forceUnlock('not-the-id'), /another lock id/);
  await second.forceUnlock(dead.id);
  await t.rejects(second.forceUnlock(dead.id), /is not locked/);
  const taken = await second.lock({ operation: 'destroy', who: 'bob@ci-2' });
  t.equal(await second.write(state(2), '1'), '2');
  await second.unlock(taken.id);
  const audit = await api.request('GET', '/v1/audit?type=iac_state_force_unlocked', { key: a.key });
  t.equal(audit.body.data.length, 1, 'the force-unlock is audited');
});
