// The isolation walk of test/helpers/isolation.ts with partners: account A (one object of every
// kind) is in turn a sibling customer of the caller's partner, another partner's customer, and the
// partner itself; customer C's own credential, the partner acting for C, and (where A is not its
// customer) the partner in its own right reach none of A's objects through any operation of the
// document, and change no row of A. The clock moves a minute before each walk: every walk is
// several hundred requests of one credential, past its per-minute rate limit.
import t from 'tap';
import { startRecoveryFixture } from '../helpers/recovery-fixture.ts';
import { accountFingerprint } from '../helpers/account-rows.ts';
import { objectsOfA, walkIds, walkReads } from '../helpers/isolation.ts';
import { link } from '../helpers/partners.ts';

t.test('customers, their partner acting for them, and other partners reach nothing of account A', async (t) => {
  const fx = await startRecoveryFixture(t, { '/docs/plan.txt': 'the plan of account A' }, { email: 'alice.a@coffer-emu.test' });
  const api = fx.app;
  const ids = await objectsOfA(fx);
  const every = Object.values(ids).flat();
  const secrets = [...every, 'Emulated team', 'alice.a@coffer-emu.test', 'invited@a.example', 'ops@a.example', 'hooks.example.com/a', 'plan.txt', 'a-prod-state', 'lineage-of-a'];
  const before = await accountFingerprint(api, fx.accountId);
  const a = { accountId: fx.accountId, key: fx.account.key } as Parameters<typeof link>[2];

  const partner = await api.signUp({ kind: 'partner' });
  const c = await api.signUp();
  await link(api, partner, c);
  const asC = { key: partner.key, headers: { 'coffer-account': c.accountId } };

  await t.test('A is a sibling customer of the same partner', async (t) => {
    await link(api, partner, a);
    api.clock.advance(61_000);
    await walkIds(t, api, ids, { label: 'customer C', key: c.key });
    api.clock.advance(61_000);
    await walkIds(t, api, ids, { label: 'the partner acting for C', ...asC });
    api.clock.advance(61_000);
    await walkReads(t, api, ids, secrets, { label: 'the partner acting for C', ...asC });
    await api.database.sql`delete from partner_customers where customer_account_id = ${fx.accountId}`;
  });

  await t.test('A is another partner\'s customer', async (t) => {
    const rival = await api.signUp({ kind: 'partner' });
    await link(api, rival, a);
    api.clock.advance(61_000);
    await walkIds(t, api, ids, { label: 'the partner in its own right', key: partner.key });
    api.clock.advance(61_000);
    await walkIds(t, api, ids, { label: 'the partner acting for C', ...asC });
    api.clock.advance(61_000);
    await walkReads(t, api, ids, secrets, { label: 'the partner in its own right', key: partner.key });
    await api.database.sql`delete from partner_customers where customer_account_id = ${fx.accountId}`;
  });

  await t.test('A is the partner itself, acting for its customer C', async (t) => {
    await api.database.sql`update accounts set kind = 'partner' where id = ${fx.accountId}`;
    await api.database.sql`update partner_customers set partner_account_id = ${fx.accountId} where customer_account_id = ${c.accountId}`;
    const own = { key: fx.account.key, headers: { 'coffer-account': c.accountId } };
    api.clock.advance(61_000);
    await walkIds(t, api, ids, { label: 'A acting for its customer C', ...own });
    api.clock.advance(61_000);
    await walkIds(t, api, ids, { label: 'its customer C', key: c.key });
    // No read walk here: A reading its own account and user while acting (GET /v1/me) is no leak.
    await api.database.sql`update accounts set kind = 'standard' where id = ${fx.accountId}`;
    await api.database.sql`update partner_customers set partner_account_id = ${partner.accountId} where customer_account_id = ${c.accountId}`;
  });

  // The credentials version is bumped on purpose by the link changes this test makes.
  const { credential_versions: _a, ...after } = await accountFingerprint(api, fx.accountId);
  const { credential_versions: _b, ...expected } = before;
  t.same(after, expected, 'every row of account A is as it was');
});
