// Tenant isolation, walked from the OpenAPI document: account A holds one object of every kind an
// account can have (a task with entities from the Dropbox emulator and a real backup, so snapshots,
// items and runs exist; a tag, a user, API keys, a session, a webhook and its delivery, a
// notification recipient, an IP allowlist entry, restore and export jobs, a verification, a
// payment method, an invoice and its payment, audit and activity events). Account B's
// administrator then calls every authenticated operation that takes an id with each of A's ids of
// the matching prefix (404 every time) and with an id of another prefix (400 or 404), and every
// list and read without an id with each of A's ids as every query value (none of A's ids or names
// in the answer). A's rows are the same afterwards. An operation whose id prefix has no object in
// A fails the test, naming the prefix to add to `objectsOfA` (test/helpers/isolation.ts), so a new endpoint is covered
// without editing the walk. Public operations are left out: they take no credentials (the SAML
// endpoints take an account id by design; links are guarded by their signed tokens).
import t from 'tap';
import { startRecoveryFixture } from '../helpers/recovery-fixture.ts';
import { accountFingerprint } from '../helpers/account-rows.ts';
import { objectsOfA, walkIds, walkReads } from '../helpers/isolation.ts';

t.test('account B\'s administrator reaches none of account A\'s objects through any operation of the document', async (t) => {
  const fx = await startRecoveryFixture(t, { '/docs/plan.txt': 'the plan of account A', '/docs/budget.csv': 'a,b\n1,2\n' }, { email: 'bob.builder@coffer-emu.test' });
  const api = fx.app;
  const ids = await objectsOfA(fx);
  t.comment(`account A: ${Object.entries(ids).map(([p, l]) => `${p}×${l.length}`).join(' ')}`);
  const b = await api.signUp();
  const every = Object.values(ids).flat();
  // Names and addresses of A's objects: they must not show up in B's answers either.
  const secrets = [...every, 'Emulated team', 'bob.builder@coffer-emu.test', 'invited@a.example', 'ops@a.example', 'hooks.example.com/a', 'plan.txt', 'a-prod-state', 'lineage-of-a', fx.accountId];
  const before = await accountFingerprint(api, fx.accountId);

  const caller = { label: 'B', key: b.key };
  await walkIds(t, api, ids, caller);
  await walkReads(t, api, ids, secrets, caller);

  t.same(await accountFingerprint(api, fx.accountId), before, 'every row of account A is as it was');
  const task = await api.request('GET', `/v1/tasks/${fx.taskId}`, { key: fx.account.key });
  t.equal(task.body.name, 'Emulated team', 'A still sees its task, unchanged');
});
