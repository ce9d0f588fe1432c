// Defects the OpenAPI fuzzing (test/api/fuzz-*.test.ts) found, each reproduced by its smallest request.
import t from 'tap';
import { startTestApp } from '../helpers/app.ts';
import { accountFingerprint } from '../helpers/account-rows.ts';

t.test('a SAML two-factor attempt for an account id that names no account is a 401, not a 500 (its audit row had no account)', async (t) => {
  const api = await startTestApp(t);
  const res = await api.request('POST', '/v1/saml/acct_00000000000000000000000000/two-factor', { body: { two_factor_token: 'forged', totp_code: '123456' } });
  t.equal(res.status, 401);
  t.equal(res.body.code, 'invalid_two_factor_token');
  const a = await api.signUp();
  const known = await api.request('POST', `/v1/saml/${a.accountId}/two-factor`, { body: { two_factor_token: 'forged', totp_code: '123456' } });
  t.equal(known.body.code, 'invalid_two_factor_token');
  const [audited] = await api.database.sql`select count(*)::int as n from audit_events where account_id = ${a.accountId} and type = 'sign_in_failed'`;
  t.equal(audited!.n, 1, 'a forged token for an existing account is still audited');
});

t.test('a NUL character (which PostgreSQL text cannot hold) in a query value, a JSON body or a path is a 400 naming the field', async (t) => {
  const api = await startTestApp(t);
  const a = await api.signUp();
  const before = await accountFingerprint(api, a.accountId);

  const query = await api.request('GET', '/v1/jobs?initiator=%00', { key: a.key });
  t.equal(query.status, 400);
  t.equal(query.body.code, 'validation_failed');
  t.same(query.body.errors, [{ pointer: '/query/initiator', detail: 'must not contain the NUL character (U+0000)' }]);

  const body = await api.request('POST', '/v1/tags', { key: a.key, body: { name: 'fin\u0000ance' } });
  t.equal(body.status, 400);
  t.same(body.body.errors.map((e: { pointer: string }) => e.pointer), ['/body/name']);

  const nested = await api.request('POST', '/v1/notifications/recipients', { key: a.key, body: { email: 'ops@example.com', display_name: 'Ops', types: ['exceptions\u0000'] } });
  t.equal(nested.status, 400);
  t.same(nested.body.errors.map((e: { pointer: string }) => e.pointer), ['/body/types/0']);

  const path = await api.request('GET', '/v1/downloads/abc%00def', { key: a.key });
  t.equal(path.status, 400);
  t.same(path.body.errors.map((e: { pointer: string }) => e.pointer), ['/params/token']);

  t.same(await accountFingerprint(api, a.accountId), before, 'nothing of the account changed');
  const ok = await api.request('GET', '/v1/jobs?initiator=someone', { key: a.key });
  t.equal(ok.status, 200, 'the same query without the NUL works');
});
