// The state document: instances stored by every earlier schema version of their type are
// upgraded on read, one version at a time; states and instances from a newer tool are refused;
// the local backend writes only over the version it read and keeps a backup.
import t from 'tap';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readState } from '../../sdk/iac/state.ts';
import { LocalBackend } from '../../sdk/iac/backends/local.ts';
import type { ResourceType } from '../../sdk/iac/types.ts';

// A type at schema version 3: v1 stored `label`, v2 renamed it `name`, v3 added `color`.
const thing: ResourceType = {
  name: 'coffer_thing', description: 'test', schemaVersion: 3,
  attributes: { id: { type: 'string', computed: true, description: '' }, name: { type: 'string', required: true, description: '' }, color: { type: 'string', optional: true, computed: true, description: '' } },
  upgrade(from, a) {
    if (from === 1) {
      const { label, ...rest } = a;
      return { ...rest, name: label! };
    }
    if (from === 2) return { ...a, color: 'none' };
    throw new Error(`no upgrade from ${from}`);
  },
  create: async () => { throw new Error('unused'); },
  read: async () => null,
  delete: async () => undefined,
};
const lookup = (name: string) => (name === 'coffer_thing' ? thing : undefined);
const doc = (version: number, attributes: Record<string, unknown>) => ({
  version: 1, serial: 4, lineage: 'l-1', outputs: {}, pending_creates: [],
  resources: [{ mode: 'managed', type: 'coffer_thing', name: 'a', instances: [{ schema_version: version, attributes, dependencies: [] }] }],
});

t.test('instances from every earlier schema version are upgraded on read', async (t) => {
  const want = { id: 'x_1', name: 'n', color: 'none' };
  t.same(readState(doc(1, { id: 'x_1', label: 'n' }), lookup).resources[0]!.instances[0], { schema_version: 3, attributes: want, dependencies: [] }, 'from 1: renamed, then the new attribute');
  t.same(readState(doc(2, { id: 'x_1', name: 'n' }), lookup).resources[0]!.instances[0], { schema_version: 3, attributes: want, dependencies: [] }, 'from 2');
  t.same(readState(doc(3, { id: 'x_1', name: 'n', color: 'red' }), lookup).resources[0]!.instances[0]!.attributes, { id: 'x_1', name: 'n', color: 'red' }, 'the current version as stored');
  t.throws(() => readState(doc(4, {}), lookup), /schema version 4 of coffer_thing; this tool knows up to 3: upgrade @coffer\/sdk/);
  t.throws(() => readState({ ...doc(3, {}), version: 2 }, lookup), /format version 2; this tool reads up to 1/);
  t.throws(() => readState({ hello: 1 }), /not a Coffer state document/);
});

t.test('the local backend writes over the version it read only, keeping a backup', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-iac-state-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const backend = new LocalBackend(join(dir, 'coffer.tfstate'));
  t.equal(await backend.read(), null);
  const v1 = await backend.write({ serial: 1 }, null);
  await t.rejects(backend.write({ serial: 1 }, null), /changed by someone else/, 'expected none, one exists');
  const v2 = await backend.write({ serial: 2 }, v1);
  t.same(JSON.parse(await readFile(join(dir, 'coffer.tfstate.backup'), 'utf8')), { serial: 1 }, 'the previous state kept');
  await writeFile(join(dir, 'coffer.tfstate'), JSON.stringify({ serial: 9 }));
  await t.rejects(backend.write({ serial: 3 }, v2), /changed by someone else since it was read/);
  const lock = await backend.lock({ operation: 'apply', who: 'me@here' });
  await t.rejects(backend.lock({ operation: 'plan', who: 'other' }), /locked by me@here \(apply, since .*lock ID/, 'held by a live process: refused');
  await t.rejects(backend.forceUnlock('wrong'), /the lock ID is/);
  await backend.forceUnlock(lock.id);
  await t.resolves(backend.lock({ operation: 'plan', who: 'other' }));
});
