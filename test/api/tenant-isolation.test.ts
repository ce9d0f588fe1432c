import t from 'tap';
import { startTestApp } from '../helpers/app.ts';

t.test('account B can neither see nor change anything of account A', async (t) => {
  const api = await startTestApp(t);
  const a = await api.signUp();
  const b = await api.signUp();
  const aKey = await api.request('POST', '/v1/api-keys', { key: a.key, body: { name: 'A key' } });

  for (const id of [a.keyId, aKey.body.id]) {
    t.equal((await api.request('GET', `/v1/api-keys/${id}`, { key: b.key })).status, 404, `GET ${id}`);
    t.equal((await api.request('PATCH', `/v1/api-keys/${id}`, { key: b.key, body: { name: 'pwned' } })).status, 404, `PATCH ${id}`);
    t.equal((await api.request('DELETE', `/v1/api-keys/${id}`, { key: b.key })).status, 404, `DELETE ${id}`);
  }
  const bList = await api.request('GET', '/v1/api-keys', { key: b.key });
  t.same(bList.body.data.map((k: { id: string }) => k.id), [b.keyId]);
  const filtered = await api.request('GET', `/v1/api-keys?user_id=${a.userId}`, { key: b.key });
  t.same(filtered.body.data, [], 'filtering by another account\'s user finds nothing');

  t.equal((await api.request('GET', '/v1/me', { key: aKey.body.secret })).status, 200, 'A\'s key is untouched');
  const aAccount = await api.request('GET', '/v1/account', { key: a.key });
  t.equal(aAccount.body.name, a.body.account.name);
  const bAccount = await api.request('GET', '/v1/account', { key: b.key });
  t.equal(bAccount.body.id, b.accountId);
});
