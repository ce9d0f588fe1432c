// The account-purge job erases everything of a removed account after its grace period: rows in
// every table, the backed-up blobs, and the wrapped data key.
import t from 'tap';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startBackupFixture } from '../../helpers/backup-fixture.ts';
import { rowsOf } from '../../helpers/account-rows.ts';
import { accountPurgeJob, tablesWithoutCascade } from '../../../workers/jobs/account-purge.ts';

const DAY = 86_400_000;

t.test('purge erases backed-up blobs, blocks, packs and versions, and the data key', async (t) => {
  const f = await startBackupFixture(t);
  const api = f.app;
  const bob = f.emu.state.addMember({ email: 'bob@coffer-emu.test', givenName: 'Bob', surname: 'Builder' });
  f.emu.state.putFile(bob, '/a.txt', 'hello');
  f.emu.state.putFile(bob, '/Docs/b.bin', Buffer.alloc(70_000, 7));
  const entityId = await f.memberEntity(bob);
  const result = await f.backup(entityId);
  t.equal(result.outcome, 'succeeded');
  const other = await api.signUp();

  const root = join(f.dataDir, 'blobs', 'eu-west-1', f.accountId);
  const listFiles = async (dir: string): Promise<string[]> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    const out: string[] = [];
    for (const e of entries) out.push(...(e.isDirectory() ? await listFiles(join(dir, e.name)) : [join(dir, e.name)]));
    return out;
  };
  t.ok((await listFiles(root)).length > 0, 'the backup wrote packs');
  const before = await rowsOf(api, f.accountId);
  for (const table of ['blocks', 'packs', 'item_versions', 'backup_runs', 'entities', 'tasks']) t.ok(before[table], `${table} has rows before`);
  const [key] = await api.database.sql`select data_key is not null as has from accounts where id = ${f.accountId}`;
  t.equal(key!.has, true, 'the account has a wrapped data key');
  // Tables that do not cascade from accounts are found and deleted explicitly.
  const explicit = await tablesWithoutCascade(api.deps);
  for (const table of ['blocks', 'packs', 'item_versions']) t.ok(explicit.includes(table), `${table} is purged explicitly`);

  const idempotent = { 'idempotency-key': 'purge-me' };
  t.equal((await api.request('POST', '/v1/account/removal', { key: f.account.key, body: { approve_data_removal: true }, headers: idempotent })).status, 202);
  t.equal((await api.request('POST', '/v1/api-keys', { key: other.key, body: { name: 'kept' }, headers: idempotent })).status, 201);
  api.clock.advance(7 * DAY + 1);
  const job = await accountPurgeJob(api.deps);
  t.equal(job.purged.length, 1);
  t.ok(job.purged[0]!.blobs > 0);
  t.ok(job.purged[0]!.rows.blocks! > 0);
  const { audit_events: _kept, audit_heads: _head, ...left } = await rowsOf(api, f.accountId);
  t.same(left, {}, 'no row left but the audit log, the data key went with the account row');
  t.same(await listFiles(root), [], 'no blob left');
  t.ok((await rowsOf(api, other.accountId)).users, 'the other account is untouched');
  const records = await api.database.sql`select scope from idempotency_keys`;
  t.same(records.map((r) => r.scope), [`${other.accountId}/${other.userId}/${other.keyId}`], 'its idempotency records went too, the other account\'s stayed');
});

