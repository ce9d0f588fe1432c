// The whole-repository check (workers/recovery/repository-check.ts and `npm run check`) against
// real backups: a sound repository has no problems; a flipped byte (same size: only --read-data
// finds it), a deleted pack, a dropped block row, garbage GC should have removed, and an object
// nobody recorded are each found and named.
import t from 'tap';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { promisify } from 'node:util';
import { startBackupFixture, type BackupFixture } from '../../helpers/backup-fixture.ts';
import { checkRepository, UNREFERENCED_GRACE_MS } from '../../../workers/recovery/repository-check.ts';
import { repositoryCheckJob } from '../../../workers/jobs/verification.ts';

const run = promisify(execFile);
const masterKey = randomBytes(32);

let fx: BackupFixture;
t.before(async () => {
  fx = await startBackupFixture(t, { masterKey });
});

let members = 0;
async function backedUp(files: Record<string, string>) {
  members++;
  const member = fx.emu.state.addMember({ email: `check${members}@coffer-emu.test`, givenName: 'Check', surname: String(members) });
  for (const [p, c] of Object.entries(files)) fx.emu.state.putFile(member, p, c);
  const entityId = await fx.memberEntity(member);
  const out = await fx.backup(entityId);
  if (out.outcome !== 'succeeded') throw new Error(`backup: ${JSON.stringify(out)}`);
  return entityId;
}

async function blockOf(entityId: string, path: string) {
  const [row] = await fx.app.deps.sql<{ hex: string; pack_id: string; offset: number; length: number }[]>`
    select encode(b.hash, 'hex') as hex, b.pack_id, b."offset"::float8 as "offset", b.length
    from item_versions v join blocks b on b.account_id = v.account_id and b.hash = substring(v.blocks from 1 for 32)
    where v.entity_id = ${entityId} and v.path_display = ${path}`;
  return row!;
}

async function packFile(packId: string): Promise<string> {
  const root = join(fx.dataDir, 'blobs');
  for (const e of await readdir(root, { recursive: true, withFileTypes: true })) if (e.name === packId) return join(e.parentPath, e.name);
  throw new Error(`no pack ${packId}`);
}

/** `npm run check` as an operator runs it, against the test database and data directory. */
async function cli(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(process.execPath, ['scripts/check.ts', '--account', fx.accountId, ...args], {
      env: { ...process.env, DATABASE_URL: fx.app.database.url, COFFER_DATA_DIR: fx.dataDir, COFFER_MASTER_KEY: masterKey.toString('base64') },
    });
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

const kinds = (problems: { kind: string }[]) => problems.map((p) => p.kind);

t.test('a sound repository: no problems, every block read back; the CLI exits 0', async (t) => {
  await backedUp({ '/one.txt': 'one 11aa', '/two.txt': 'two 11aa', '/three.txt': 'three 11aa' });
  const result = await checkRepository(fx.app.deps, fx.accountId, { readData: true });
  t.same(result.problems, []);
  t.equal(result.blocks_checked, 3);
  t.equal(result.blocks_read, 3);
  t.equal(result.bytes_read, 'one 11aa'.length + 'two 11aa'.length + 'three 11aa'.length);
  const out = await cli('--read-data');
  t.equal(out.code, 0, out.out);
  t.match(out.out, /^no problems in acct_\w+: 1 packs, 3 blocks checked, 3 blocks \(\d+ bytes\) read back/);
});

t.test('a flipped byte keeps the pack size: only --read-data finds it, naming the block and the pack; the CLI exits 1', async (t) => {
  const entityId = await backedUp({ '/flip/victim.txt': 'victim 22bb', '/flip/other.txt': 'other 22bb' });
  const block = await blockOf(entityId, '/flip/victim.txt');
  const file = await packFile(block.pack_id);
  const bytes = await readFile(file);
  bytes[block.offset + 15]! ^= 0x80;
  await writeFile(file, bytes);
  t.same((await checkRepository(fx.app.deps, fx.accountId)).problems, [], 'the metadata check cannot see it');
  const deep = await checkRepository(fx.app.deps, fx.accountId, { readData: true });
  t.same(deep.problems.map((p) => ({ ...p, detail: '' })), [{ kind: 'block_corrupt', pack_id: block.pack_id, block_hash: block.hex, path: null, detail: '' }]);
  t.match(deep.problems[0]!.detail, `block ${block.hex} in pack ${block.pack_id} at ${block.offset}+${block.length}: block failed authentication`);
  t.equal(deep.blocks_read, deep.blocks_checked - 1, 'its neighbour still reads back');
  const out = await cli('--read-data');
  t.equal(out.code, 1);
  t.match(out.out, `block_corrupt: block ${block.hex} in pack ${block.pack_id}`);
  t.match(out.out, /1 problem\(s\) in acct_/);
  await writeFile(file, (bytes[block.offset + 15]! ^= 0x80, bytes));
  t.same((await checkRepository(fx.app.deps, fx.accountId, { readData: true })).problems, [], 'repaired');
});

t.test('a deleted pack is named', async (t) => {
  const entityId = await backedUp({ '/gone/a.txt': 'gone 33cc' });
  const block = await blockOf(entityId, '/gone/a.txt');
  const file = await packFile(block.pack_id);
  const saved = await readFile(file);
  await rm(file);
  const result = await checkRepository(fx.app.deps, fx.accountId, { readData: true });
  t.same(kinds(result.problems), ['pack_missing']);
  t.match(result.problems[0], { pack_id: block.pack_id, detail: `pack ${block.pack_id} (packs/${block.pack_id.slice(0, 2)}/${block.pack_id}, 1 block(s)) is missing from storage` });
  const out = await cli();
  t.equal(out.code, 1);
  t.match(out.out, `pack_missing: pack ${block.pack_id}`);
  // The operator's queue job: one account, or every account with packs.
  const errors: string[] = [];
  const deps = { ...fx.app.deps, log: { ...fx.app.deps.log, error: (_obj: object, msg: string) => errors.push(msg) } };
  t.same(kinds((await repositoryCheckJob(deps, { accountId: fx.accountId }))[fx.accountId]!.problems), ['pack_missing']);
  t.same(Object.keys(await repositoryCheckJob(deps, {})), [fx.accountId]);
  t.match(errors[0], `repository-check ${fx.accountId}: pack_missing: pack ${block.pack_id}`);
  await writeFile(file, saved);
});

t.test('a dropped block row is named with a file that needs it', async (t) => {
  const entityId = await backedUp({ '/dropped/needed.txt': 'needed 44dd' });
  const block = await blockOf(entityId, '/dropped/needed.txt');
  const [row] = await fx.app.deps.sql`delete from blocks where account_id = ${fx.accountId} and hash = decode(${block.hex}, 'hex') returning *`;
  const result = await checkRepository(fx.app.deps, fx.accountId);
  // (Its pack now holds no block anybody points at, but is younger than the GC grace: not a problem.)
  t.same(result.problems.map((p) => ({ kind: p.kind, block_hash: p.block_hash, path: p.path })), [
    { kind: 'block_missing', block_hash: block.hex, path: '/dropped/needed.txt' },
  ]);
  t.equal(result.problems[0]!.detail, `block ${block.hex} of /dropped/needed.txt is in no pack`);
  await fx.app.deps.sql`insert into blocks ${fx.app.deps.sql(row!)}`;
  t.same((await checkRepository(fx.app.deps, fx.accountId)).problems, []);
});

t.test('garbage older than the GC grace and objects nobody recorded are named', async (t) => {
  const now = fx.app.clock.now();
  const old = new Date(now.getTime() - UNREFERENCED_GRACE_MS - 60_000).toISOString();
  const young = new Date(now.getTime() - 60_000).toISOString();
  const oldId = 'aa' + randomBytes(15).toString('hex');
  const youngId = 'bb' + randomBytes(15).toString('hex');
  await fx.app.deps.sql`insert into packs (id, account_id, key, size, state, created_at) values
    (${oldId}, ${fx.accountId}, ${`packs/aa/${oldId}`}, 0, 'written', ${old}),
    (${youngId}, ${fx.accountId}, ${`packs/bb/${youngId}`}, 0, 'written', ${young})`;
  const stray = 'cc' + randomBytes(15).toString('hex');
  const root = dirname(dirname(dirname(await packFile((await fx.app.deps.sql<{ id: string }[]>`select id from packs where account_id = ${fx.accountId} and state = 'written' and size > 0 limit 1`)[0]!.id))));
  await mkdir(join(root, 'packs', 'cc'), { recursive: true });
  await writeFile(join(root, 'packs', 'cc', stray), 'not a pack');
  const result = await checkRepository(fx.app.deps, fx.accountId);
  t.same(result.problems.map((p) => [p.kind, p.pack_id]).sort(), [['object_unrecorded', stray], ['pack_unreferenced', oldId]], 'the young empty pack is within the grace');
  await rm(join(root, 'packs', 'cc', stray));
  await fx.app.deps.sql`delete from packs where id in (${oldId}, ${youngId})`;
});

t.test('the CLI refuses bad arguments', async (t) => {
  const bad = await run(process.execPath, ['scripts/check.ts', '--account', 'nope'], { env: process.env }).catch((e) => e);
  t.equal(bad.code, 2);
  t.match(bad.stderr, '--account must be an account id');
});
