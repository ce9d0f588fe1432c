// GET /v1/partner/usage?month=YYYY-MM against customers with known usage: recorded daily peaks,
// live counts where no day was recorded, restore and export jobs inside and outside the month,
// a direct-billed customer, a revoked one; and the refusals (a standard account, a bad month).
import t from 'tap';
import { newId } from '../../db/ids.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { linkCustomer, makePartner, revokeCustomer } from '../helpers/partners.ts';

const GB = 1_000_000_000;

async function seed(app: TestApp) {
  const { sql } = app.deps;
  const partner = await app.signUp({ name: 'MSP' });
  await makePartner(app, partner.accountId);
  const recorded = await app.signUp({ name: 'Recorded' });
  const live = await app.signUp({ name: '=Live' });
  const direct = await app.signUp({ name: 'Direct' });
  const revoked = await app.signUp({ name: 'Revoked' });
  await linkCustomer(app, partner.accountId, recorded.accountId, 'partner');
  await linkCustomer(app, partner.accountId, live.accountId, 'partner');
  await linkCustomer(app, partner.accountId, direct.accountId, 'direct');
  await linkCustomer(app, partner.accountId, revoked.accountId, 'partner');
  await revokeCustomer(app, revoked.accountId);

  const usage = (accountId: string, day: string, entities: number, bytes: number) =>
    sql`insert into billing_usage (account_id, day, active_entities, stored_bytes, recorded_at) values (${accountId}, ${day}, ${entities}, ${bytes}, now())`;
  await usage(recorded.accountId, '2026-11-01', 10, 4 * GB);
  await usage(recorded.accountId, '2026-11-15', 12, 3 * GB);
  await usage(recorded.accountId, '2026-11-30', 11, 5 * GB);
  await usage(recorded.accountId, '2026-12-01', 99, 99 * GB); // the next month
  await usage(revoked.accountId, '2026-11-10', 50, GB);

  // No day recorded for "=Live": its live entities count (3 protected of 5).
  const taskId = newId('task');
  await sql`insert into tasks (id, account_id, name, plan, connection_status) values (${taskId}, ${live.accountId}, 'Team', 'business', 'connected')`;
  for (const [i, status] of ['success', 'failed', 'scheduled', 'not_active', 'archived'].entries()) {
    await sql`insert into entities (id, account_id, task_id, kind, dropbox_id, name, dropbox_status, status, size_bytes)
      values (${newId('ent')}, ${live.accountId}, ${taskId}, 'member', ${`dbmid:${i}`}, ${`m${i}`}, 'active', ${status}, ${1000 * (i + 1)})`;
  }

  const job = (accountId: string, type: 'restore' | 'export', createdAt: string) => sql`
    insert into jobs (id, account_id, type, state, task_id, entity_id, snapshot_id, snapshot_at, source, destination, created_at)
    values (${newId('job')}, ${accountId}, ${type}, 'succeeded', 'task_x', 'ent_x', 'run_x', ${createdAt}, '{}'::jsonb, '{}'::jsonb, ${createdAt})`;
  await job(recorded.accountId, 'restore', '2026-11-02T10:00:00Z');
  await job(recorded.accountId, 'restore', '2026-11-30T23:59:59Z');
  await job(recorded.accountId, 'export', '2026-11-20T10:00:00Z');
  await job(recorded.accountId, 'restore', '2026-10-31T23:59:59Z'); // the month before
  await job(recorded.accountId, 'export', '2026-12-01T00:00:00Z'); // the month after
  await job(direct.accountId, 'export', '2026-11-05T00:00:00Z');
  return { partner, recorded, live, direct, revoked };
}

t.test('per customer usage, amounts at invoice prices and totals for one month, as JSON and CSV', async (t) => {
  const app = await startTestApp(t, { start: new Date('2026-12-08T01:00:00Z') });
  const { partner, recorded, live, direct } = await seed(app);

  const res = await app.request('GET', '/v1/partner/usage?month=2026-11', { key: partner.key });
  t.equal(res.status, 200);
  const ids = [recorded.accountId, live.accountId, direct.accountId].sort();
  t.same(res.body.data.map((d: any) => d.account_id), ids, 'current customers only, by account id; the revoked one is left out');
  const byName = Object.fromEntries(res.body.data.map((d: any) => [d.name, d]));
  t.same(byName.Recorded, {
    account_id: recorded.accountId, name: 'Recorded', region: 'eu-west-1', billing: 'partner',
    protected_entities: 12, stored_bytes: 5 * GB, restores: 2, exports: 1, amount: 12 * 300,
  }, 'the month\'s peaks, its jobs only, 3.00 per entity');
  t.same(byName['=Live'], {
    account_id: live.accountId, name: '=Live', region: 'eu-west-1', billing: 'partner',
    protected_entities: 3, stored_bytes: 15000, restores: 0, exports: 0, amount: 3 * 300,
  }, 'no recorded day: the live count, as an invoice would use');
  t.same(byName.Direct, {
    account_id: direct.accountId, name: 'Direct', region: 'eu-west-1', billing: 'direct',
    protected_entities: 0, stored_bytes: 0, restores: 0, exports: 1, amount: 300,
  }, 'the plan minimum of one entity');
  t.same(res.body.totals, {
    customers: 3, protected_entities: 15, stored_bytes: 5 * GB + 15000, restores: 2, exports: 2, amount: 4800, partner_billed_amount: 4500,
  });
  t.equal(res.body.currency, 'USD');
  t.equal(res.body.month, '2026-11');

  const december = await app.request('GET', '/v1/partner/usage?month=2026-12', { key: partner.key });
  t.equal(december.body.data.find((d: any) => d.name === 'Recorded').protected_entities, 99, 'the current month so far');

  const csv = await app.request('GET', '/v1/partner/usage?month=2026-11', { key: partner.key, headers: { accept: 'text/csv' } });
  t.equal(csv.status, 200);
  t.equal(csv.headers.get('content-disposition'), 'attachment; filename="customer-usage-2026-11.csv"');
  const lines = csv.text.trim().split('\n');
  t.equal(lines[0], 'account_id,name,region,billing,protected_entities,stored_bytes,restores,exports,amount,currency');
  t.ok(lines.includes(`${recorded.accountId},Recorded,eu-west-1,partner,12,5000000000,2,1,3600,USD`));
  t.ok(lines.includes(`${live.accountId},'=Live,eu-west-1,partner,3,15000,0,0,900,USD`), 'a name that could be a formula is neutralized');
});

t.test('a standard account gets 403 not_a_partner; a malformed or future month is a 400 problem', async (t) => {
  const app = await startTestApp(t, { start: new Date('2026-12-08T01:00:00Z') });
  const { partner, recorded } = await seed(app);
  const standard = await app.request('GET', '/v1/partner/usage?month=2026-11', { key: recorded.key });
  t.equal(standard.status, 403);
  t.match(standard.body, { code: 'not_a_partner', type: 'urn:coffer:problem:not_a_partner' });
  for (const month of ['2026-13', '2026-1', '26-11', '2026-11-01', 'november', '']) {
    const res = await app.request('GET', `/v1/partner/usage?month=${month}`, { key: partner.key });
    t.equal(res.status, 400, `month=${month}`);
    t.equal(res.body.code, 'validation_failed');
    t.match(res.headers.get('content-type'), /application\/problem\+json/);
  }
  t.equal((await app.request('GET', '/v1/partner/usage', { key: partner.key })).status, 400, 'month is required');
  const future = await app.request('GET', '/v1/partner/usage?month=2027-01', { key: partner.key });
  t.match(future.body, { status: 400, code: 'validation_failed', errors: [{ pointer: '/query/month', detail: 'The month has not begun yet.' }] });
});
