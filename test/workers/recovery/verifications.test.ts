// Restore drills against real backups (the backup fixture over the Dropbox emulator): a clean
// verification with exact counts and evidence an auditor can check with node:crypto alone; a
// flipped byte in a pack, a deleted pack; every changed file is in the next sample; the schedule;
// validation and tenant isolation.
import t from 'tap';
import { verify as edVerify } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { and, eq } from 'drizzle-orm';
import { startBackupFixture, type BackupFixture } from '../../helpers/backup-fixture.ts';
import { activityEvents, webhookDeliveries } from '../../../db/schema.ts';
import { failVerificationJob, runVerificationJob } from '../../../workers/jobs/verification.ts';
import { enqueueDueVerifications } from '../../../workers/jobs/verification.ts';
import { sendSummaryReport } from '../../../api/resources/notifications/reports.ts';

const MiB = 1024 * 1024;

let fx: BackupFixture;
let hookId: string;
t.before(async () => {
  fx = await startBackupFixture(t, { config: { webhooks: { allowPrivateTargets: true, retrySchedule: [1] } } as never });
  const hook = await fx.app.request('POST', '/v1/webhooks', { key: fx.account.key, body: { url: 'http://127.0.0.1:9/hook', events: ['verification.finished', 'smart_alert.raised'] } });
  if (hook.status !== 201) throw new Error(hook.text);
  hookId = hook.body.id;
  const recipient = await fx.app.request('POST', '/v1/notifications/recipients', {
    key: fx.account.key, body: { email: 'ops@drills.example', display_name: 'Ops', types: ['exceptions', 'smart_alerts', 'summary_report'] },
  });
  if (recipient.status !== 201) throw new Error(recipient.text);
});

let members = 0;
/** A member of the team holding `files` (content unique to it, so its packs hold nobody else's blocks), backed up once. */
async function backedUp(files: Record<string, Buffer | string>) {
  members++;
  const member = fx.emu.state.addMember({ email: `member${members}@coffer-emu.test`, givenName: 'Member', surname: String(members) });
  for (const [p, c] of Object.entries(files)) fx.emu.state.putFile(member, p, c);
  const entityId = await fx.memberEntity(member);
  const out = await fx.backup(entityId);
  if (out.outcome !== 'succeeded') throw new Error(`backup: ${JSON.stringify(out)}`);
  return { member, entityId, runId: out.runId };
}

const post = (path: string, body: unknown, key = fx.account.key) => fx.app.request('POST', path, { key, body });
const get = (path: string, key = fx.account.key) => fx.app.request('GET', path, { key });

async function verifyNow(entityId: string, body: unknown = {}) {
  const res = await post(`/v1/entities/${entityId}/verifications`, body);
  if (res.status !== 202) throw new Error(`start: ${res.status} ${res.text}`);
  const outcome = await runVerificationJob(fx.app.deps, res.body.id);
  return { started: res.body, outcome, result: (await get(`/v1/verifications/${res.body.id}`)).body };
}

/** Where a file's first block is stored, and the pack object's path on disk. */
async function blockOf(entityId: string, path: string) {
  const [row] = await fx.app.deps.sql<{ hex: string; pack_id: string; offset: number; length: number }[]>`
    select encode(b.hash, 'hex') as hex, b.pack_id, b."offset"::float8 as "offset", b.length
    from item_versions v join blocks b on b.account_id = v.account_id and b.hash = substring(v.blocks from 1 for 32)
    where v.entity_id = ${entityId} and v.path_display = ${path} and v.valid_until_run is null`;
  if (!row) throw new Error(`no block for ${path}`);
  return { ...row, file: await packFile(row.pack_id) };
}

async function packFile(packId: string): Promise<string> {
  const walk = async (dir: string): Promise<string | null> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        const found = await walk(p);
        if (found) return found;
      } else if (e.name === packId) return p;
    }
    return null;
  };
  const found = await walk(join(fx.dataDir, 'blobs'));
  if (!found) throw new Error(`pack ${packId} not found under the data dir`);
  return found;
}

t.test('a clean verification succeeds with exact counts and evidence that verifies with node:crypto against the published key', async (t) => {
  const files = { '/a.txt': 'alpha one', '/Docs/b.md': '# bravo one', '/Docs/empty.txt': '', '/big.bin': Buffer.alloc(5 * MiB + 3, 11), '/c.csv': 'x,y\n1,2\n' };
  const { entityId, runId } = await backedUp(files);
  const { started, outcome, result } = await verifyNow(entityId);
  t.equal(started.state, 'pending');
  t.equal(started.sample_percent, 5, 'the default sample');
  t.equal(outcome, 'succeeded');
  const bytes = Object.values(files).reduce((n, c) => n + Buffer.byteLength(c), 0);
  t.match(result, {
    id: started.id, entity_id: entityId, task_id: fx.taskId, snapshot_id: runId, state: 'succeeded', reason: 'manual', baseline_snapshot_id: null,
    files_in_snapshot: 5, files_changed: 0, files_checked: 5, files_failed: 0, blocks_checked: 5, bytes_checked: bytes, failures: [], error: null,
  });
  t.type(result.duration_ms, 'number');

  // The auditor: the public key without signing in, then node:crypto alone.
  const key = await fx.app.request('GET', '/v1/verification-key');
  t.equal(key.status, 200);
  t.match(key.body.public_key_pem, /^-----BEGIN PUBLIC KEY-----\n/);
  const { signed_payload: payload, signature, key_id: keyId } = result.evidence;
  t.equal(keyId, key.body.key_id);
  t.ok(edVerify(null, Buffer.from(payload, 'utf8'), key.body.public_key_pem, Buffer.from(signature, 'base64')), 'the signature verifies');
  t.notOk(edVerify(null, Buffer.from(payload.replace('"files_failed":0', '"files_failed":1'), 'utf8'), key.body.public_key_pem, Buffer.from(signature, 'base64')), 'an altered payload does not');
  t.match(JSON.parse(payload), {
    type: 'coffer.verification', version: 1, key_id: keyId, verification_id: started.id, account_id: fx.accountId, entity_id: entityId, snapshot_id: runId,
    state: 'succeeded', files_checked: 5, blocks_checked: 5, bytes_checked: bytes, failures: [],
  });
  t.equal((await fx.app.request('GET', '/v1/verification-key')).body.public_key_pem, key.body.public_key_pem, 'one key per installation');

  const events = await fx.app.deps.db.select().from(webhookDeliveries).where(and(eq(webhookDeliveries.endpointId, hookId)));
  const mine = events.filter((e) => JSON.parse(e.body).data.verification_id === started.id);
  t.same(mine.map((e) => e.eventType), ['verification.finished'], 'a verification.finished event, no smart alert');
  t.equal(await runVerificationJob(fx.app.deps, started.id), 'skipped', 'a finished verification is not run again');
});

t.test('a flipped byte in a pack fails the verification, naming the file, the block and its pack; a smart alert and mail follow', async (t) => {
  const files: Record<string, string> = { '/Corrupt/victim.txt': 'the victim file, unique text 7f3a' };
  for (let i = 0; i < 6; i++) files[`/Corrupt/bystander-${i}.txt`] = `bystander ${i} 7f3a`;
  const { entityId } = await backedUp(files);
  const block = await blockOf(entityId, '/Corrupt/victim.txt');
  const bytes = await readFile(block.file);
  bytes[block.offset + 20]! ^= 0x01;
  await writeFile(block.file, bytes);
  const mailsBefore = fx.app.sentMail.length;

  const { started, outcome, result } = await verifyNow(entityId, { sample_percent: 100 });
  t.equal(outcome, 'failed');
  t.match(result, { state: 'failed', files_checked: 7, files_failed: 1, blocks_checked: 7, error: null });
  t.same(result.failures.map((f: Record<string, unknown>) => ({ ...f, detail: undefined })), [
    { path: '/Corrupt/victim.txt', kind: 'corrupt_block', block_hash: block.hex, pack_id: block.pack_id, detail: undefined },
  ], 'only the victim fails: its neighbours in the same pack read back intact');
  t.match(result.failures[0].detail, /failed authentication/);
  t.equal(result.bytes_checked, Object.entries(files).filter(([p]) => p !== '/Corrupt/victim.txt').reduce((n, [, c]) => n + Buffer.byteLength(c), 0));
  t.match(JSON.parse(result.evidence.signed_payload), { state: 'failed', failures: [{ path: '/Corrupt/victim.txt', block_hash: block.hex }] });

  const alerts = await fx.app.deps.db.select().from(activityEvents).where(and(eq(activityEvents.entityId, entityId), eq(activityEvents.type, 'smart_alert')));
  t.equal(alerts.length, 1);
  t.match(alerts[0]!.details, { kind: 'verification_failed', verification_id: started.id, files_failed: 1 });
  const events = (await fx.app.deps.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, hookId)))
    .filter((e) => JSON.parse(e.body).data.verification_id === started.id);
  t.same(events.map((e) => e.eventType).sort(), ['smart_alert.raised', 'verification.finished']);
  const mails = fx.app.sentMail.slice(mailsBefore);
  t.same(mails.map((m) => m.subject), [`Restore drill failed: Member ${members} (Emulated team)`, `Smart alert: backups of Member ${members} failed a restore drill`]);
  t.match(mails[0]!.text, '/Corrupt/victim.txt');
});

t.test('a deleted pack fails the verification, naming the missing pack for every file in it', async (t) => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 4; i++) files[`/Gone/f${i}.txt`] = `file ${i} in a pack that will vanish 19c2`;
  const { entityId } = await backedUp(files);
  const block = await blockOf(entityId, '/Gone/f0.txt');
  await rm(block.file);
  const { outcome, result } = await verifyNow(entityId);
  t.equal(outcome, 'failed');
  t.equal(result.files_failed, 4);
  t.same(result.failures.map((f: { path: string }) => f.path).sort(), Object.keys(files).sort());
  t.ok(result.failures.every((f: { kind: string; pack_id: string; detail: string }) => f.kind === 'missing_pack' && f.pack_id === block.pack_id
    && f.detail === `pack ${block.pack_id} is missing from storage`), 'each names the missing pack');
  t.equal(result.bytes_checked, 0);
});

t.test('the next sample includes every file changed since the last verification', async (t) => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 400; i++) files[`/Many/f${String(i).padStart(3, '0')}.txt`] = `many ${i} 5be1`;
  const { member, entityId, runId } = await backedUp(files);
  const first = await verifyNow(entityId, { sample_percent: 1 });
  t.match(first.result, { state: 'succeeded', files_in_snapshot: 400, files_changed: 0, files_checked: 100, baseline_snapshot_id: null });

  const changed = ['/Many/f007.txt', '/Many/f123.txt', '/Many/f388.txt'];
  for (const p of changed) fx.emu.state.putFile(member, p, `changed ${p} 5be1`);
  fx.emu.state.putFile(member, '/Many/new.txt', 'a new file 5be1');
  const second = await fx.backup(entityId);
  if (second.outcome !== 'succeeded') throw new Error(`backup: ${JSON.stringify(second)}`);
  // The changed files' new blocks went into a pack of their own: remove it, and exactly they fail.
  const newPack = await blockOf(entityId, '/Many/new.txt');
  await rm(newPack.file);
  const again = await verifyNow(entityId, { sample_percent: 1 });
  t.match(again.result, { state: 'failed', snapshot_id: second.runId, baseline_snapshot_id: runId, files_in_snapshot: 401, files_changed: 4, files_checked: 104, files_failed: 4 });
  t.same(again.result.failures.map((f: { path: string }) => f.path).sort(), [...changed, '/Many/new.txt'].sort(), 'every changed file was read back');
});

t.test('scheduled verifications follow the task\'s verification_frequency', async (t) => {
  const task = await get(`/v1/tasks/${fx.taskId}`);
  t.equal(task.body.verification_frequency, 'off');
  t.equal(await enqueueDueVerifications(fx.app.deps), 0, 'off: nothing is due');
  const patched = await fx.app.request('PATCH', `/v1/tasks/${fx.taskId}`, { key: fx.account.key, body: { verification_frequency: 'weekly' }, headers: { 'if-match': task.headers.get('etag')! } });
  t.equal(patched.status, 200, patched.text);
  t.equal(patched.body.verification_frequency, 'weekly');
  const bad = await fx.app.request('PATCH', `/v1/tasks/${fx.taskId}`, { key: fx.account.key, body: { verification_frequency: 'daily' } });
  t.equal(bad.status, 400);

  // Entities verified in the last week are not due; every other entity with a snapshot is.
  await backedUp({ '/never-verified.txt': 'scheduled 0d0e' });
  const [{ n: unverified }] = await fx.app.deps.sql<{ n: number }[]>`
    select count(*)::int as n from entities e where e.task_id = ${fx.taskId}
      and exists (select 1 from backup_runs r where r.entity_id = e.id and r.state = 'succeeded')
      and not exists (select 1 from verifications v where v.entity_id = e.id)`;
  t.ok(unverified > 0);
  t.equal(await enqueueDueVerifications(fx.app.deps), unverified);
  const scheduled = await fx.app.deps.sql<{ id: string; sample_percent: number }[]>`select id, sample_percent from verifications where reason = 'scheduled' and state = 'pending'`;
  t.equal(scheduled.length, unverified);
  t.ok(scheduled.every((v) => v.sample_percent === 5));
  t.equal(await enqueueDueVerifications(fx.app.deps), 0, 'a pending verification is not enqueued twice');
  for (const v of scheduled) await runVerificationJob(fx.app.deps, v.id);
  t.equal(await enqueueDueVerifications(fx.app.deps), 0, 'verified this week');
  fx.app.clock.advance(8 * 86_400_000);
  const [{ n: all }] = await fx.app.deps.sql<{ n: number }[]>`
    select count(*)::int as n from entities e where e.task_id = ${fx.taskId} and exists (select 1 from backup_runs r where r.entity_id = e.id and r.state = 'succeeded')`;
  t.equal(await enqueueDueVerifications(fx.app.deps), all, 'a week later every entity is due again');
});

t.test('validation: sample_percent, unknown entities, no snapshot yet, one verification at a time', async (t) => {
  const { entityId } = await backedUp({ '/v.txt': 'validation 42aa' });
  for (const sample of [0, -1, 100.5, 'ten', null]) {
    const res = await post(`/v1/entities/${entityId}/verifications`, { sample_percent: sample });
    t.equal(res.status, 400, `sample_percent ${JSON.stringify(sample)}`);
    t.equal(res.body.code, 'validation_failed');
    t.equal(res.body.errors[0].pointer, '/body/sample_percent');
  }
  t.equal((await post(`/v1/entities/${entityId}/verifications`, { sample_percent: 5, extra: 1 })).status, 400);
  t.equal((await post('/v1/entities/ent_00000000000000000000000000/verifications', {})).status, 404);
  t.equal((await get('/v1/verifications/ver_00000000000000000000000000')).status, 404);

  const fresh = await fx.memberEntity(fx.emu.state.addMember({ email: 'never@coffer-emu.test', givenName: 'Never', surname: 'Backed' }));
  const none = await post(`/v1/entities/${fresh}/verifications`, {});
  t.equal(none.status, 409);
  t.equal(none.body.code, 'no_snapshot');

  const first = await post(`/v1/entities/${entityId}/verifications`, { sample_percent: 100 });
  t.equal(first.status, 202);
  t.equal(first.headers.get('location'), `/v1/verifications/${first.body.id}`);
  const second = await post(`/v1/entities/${entityId}/verifications`, {});
  t.equal(second.status, 409);
  t.equal(second.body.code, 'verification_in_progress');
  await runVerificationJob(fx.app.deps, first.body.id);
  t.equal((await post(`/v1/entities/${entityId}/verifications`, {})).status, 202, 'once it finished, another may start');

  const listed = await get(`/v1/verifications?entity_id=${entityId}&limit=1`);
  t.equal(listed.body.data.length, 1);
  t.equal(listed.body.data[0].state, 'pending', 'newest first');
  const next = await get(`/v1/verifications?entity_id=${entityId}&limit=1&cursor=${listed.body.next_cursor}`);
  t.same(next.body.data.map((v: { id: string }) => v.id), [first.body.id]);
  t.equal(next.body.next_cursor, null);
  const succeeded = await get(`/v1/verifications?entity_id=${entityId}&state=succeeded`);
  t.same(succeeded.body.data.map((v: { id: string }) => v.id), [first.body.id]);
  t.equal((await get('/v1/verifications?state=done')).status, 400);
});

t.test('tenant isolation: another account gets 404 for every id and sees none of them', async (t) => {
  const { entityId } = await backedUp({ '/mine.txt': 'isolation a1b2' });
  const { started } = await verifyNow(entityId);
  const other = await fx.app.signUp();
  t.equal((await get(`/v1/verifications/${started.id}`, other.key)).status, 404);
  const start = await post(`/v1/entities/${entityId}/verifications`, {}, other.key);
  t.equal(start.status, 404);
  t.same((await get('/v1/verifications', other.key)).body.data, []);
  t.same((await get(`/v1/verifications?entity_id=${entityId}`, other.key)).body.data, []);
});

t.test('a verification the queue gave up on fails with its reason, signed, and is no baseline for the next', async (t) => {
  const { entityId } = await backedUp({ '/gave-up.txt': 'gave up 9e9e' });
  const res = await post(`/v1/entities/${entityId}/verifications`, {});
  await failVerificationJob(fx.app.deps, res.body.id, new Error('storage unreachable'));
  const v = (await get(`/v1/verifications/${res.body.id}`)).body;
  t.match(v, { state: 'failed', error: 'The verification could not run to its end: storage unreachable', files_checked: 0 });
  const key = (await fx.app.request('GET', '/v1/verification-key')).body.public_key_pem;
  t.ok(edVerify(null, Buffer.from(v.evidence.signed_payload), key, Buffer.from(v.evidence.signature, 'base64')));
  t.match(JSON.parse(v.evidence.signed_payload), { state: 'failed', error: 'The verification could not run to its end: storage unreachable' });
  const next = await verifyNow(entityId);
  t.match(next.result, { state: 'succeeded', baseline_snapshot_id: null, files_checked: 1 });
});

t.test('the summary report counts the period\'s restore drills', async (t) => {
  const [{ n, failed }] = await fx.app.deps.sql<{ n: number; failed: number }[]>`
    select count(*)::int as n, count(*) filter (where state = 'failed')::int as failed from verifications where account_id = ${fx.accountId} and finished_at is not null`;
  t.ok(failed > 0 && n > failed);
  const before = fx.app.sentMail.length;
  const now = fx.app.clock.now();
  await sendSummaryReport(fx.app.deps, fx.accountId, { start: new Date(now.getTime() - 30 * 86_400_000), end: new Date(now.getTime() + 60_000) });
  const mail = fx.app.sentMail.slice(before).find((m) => /backup summary/.test(m.subject));
  t.ok(mail);
  t.match(mail!.text, `Restore drills: ${n} verifications finished, ${failed} failed (see GET /v1/verifications?state=failed).`);
});
