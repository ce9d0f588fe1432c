// Changing the account email (seed 5.2.1): the new address confirms; resend, discard, expiry.
import t from 'tap';
import { startTestApp } from '../helpers/app.ts';
import { startSmtpServer } from '../helpers/smtp.ts';
import { linkToken } from '../helpers/security.ts';
import { Coffer, CofferError } from '../../sdk/client.ts';

const DAY = 86_400_000;

t.test('change the account email: confirmation at the new address, resend, discard, expiry', async (t) => {
  const smtp = await startSmtpServer(t);
  const api = await startTestApp(t, { config: { smtpUrl: smtp.url }, start: new Date('2026-05-01T09:00:00Z') });
  const a = await api.signUp({ email: 'bob.smith@example.test' });
  const req = (method: string, path: string, body?: unknown, key = a.key) => api.request(method, path, { key, body });

  t.equal((await req('GET', '/v1/account/email-change')).status, 404);
  const initial = await req('GET', '/v1/account');
  t.equal(initial.body.pending_email, null);
  const same = await req('POST', '/v1/account/email-change', { email: 'Bob.Smith@example.test' });
  t.equal(same.status, 409);
  t.equal(same.body.code, 'email_unchanged');
  t.equal((await req('POST', '/v1/account/email-change', { email: 'not an email' })).status, 400);

  const asked = await req('POST', '/v1/account/email-change', { email: 'New.Owner@Example.test' });
  t.equal(asked.status, 202, asked.text);
  t.same(asked.body, { email: 'bob.smith@example.test', pending_email: 'new.owner@example.test', requested_at: '2026-05-01T09:00:00.000Z', expires_at: '2026-05-02T09:00:00.000Z' });
  const shown = await req('GET', '/v1/account');
  t.equal(shown.body.email, 'bob.smith@example.test', 'the old address stays until confirmed');
  t.equal(shown.body.pending_email, 'new.owner@example.test');
  t.not(shown.headers.get('etag'), initial.headers.get('etag'), 'the ETag changes with the pending email');
  const mail1 = smtp.last('new.owner@example.test');
  t.match(mail1.subject, /Confirm the new email address/);
  const first = linkToken(mail1);
  t.match(first.link, `${api.deps.config.publicUrl}/v1/account/email-change/confirm?token=cfe_`);
  t.equal(smtp.to('bob.smith@example.test').length, 0, 'nothing is sent to the old address yet');

  // Resend: a new link; the first one stops working.
  const resent = await req('POST', '/v1/account/email-change/resend');
  t.equal(resent.status, 202);
  const second = linkToken(smtp.last('new.owner@example.test'));
  t.not(second.token, first.token);
  const stale = await api.request('POST', '/v1/account/email-change/confirm', { body: { token: first.token } });
  t.equal(stale.status, 400);
  t.equal(stale.body.code, 'invalid_token');

  // Discard: the link stops working; nothing pending.
  t.equal((await req('DELETE', '/v1/account/email-change')).status, 204);
  t.equal((await req('DELETE', '/v1/account/email-change')).status, 404);
  t.equal((await req('POST', '/v1/account/email-change/resend')).status, 404);
  t.equal((await api.request('POST', '/v1/account/email-change/confirm', { body: { token: second.token } })).body.code, 'invalid_token');
  t.equal((await req('GET', '/v1/account')).body.pending_email, null);

  // Expiry after 24 hours.
  await req('POST', '/v1/account/email-change', { email: 'late@example.test' });
  const late = linkToken(smtp.last('late@example.test'));
  api.clock.advance(DAY);
  const expired = await api.request('POST', '/v1/account/email-change/confirm', { body: { token: late.token } });
  t.equal(expired.status, 410);
  t.equal(expired.body.code, 'token_expired');

  // Confirmed: the account email changes, the old address is told, the token works once.
  await req('POST', '/v1/account/email-change', { email: 'new.owner@example.test' });
  const good = linkToken(smtp.last('new.owner@example.test'));
  const confirmed = await api.request('POST', '/v1/account/email-change/confirm', { body: { token: good.token } });
  t.equal(confirmed.status, 200, confirmed.text);
  t.equal(confirmed.body.email, 'new.owner@example.test');
  t.equal(confirmed.body.pending_email, null);
  t.equal(confirmed.body.region, 'eu-west-1', 'region unchanged');
  t.match(smtp.last('bob.smith@example.test').text, /is now new.owner@example.test/);
  const after = await req('GET', '/v1/account');
  t.equal(after.body.email, 'new.owner@example.test');
  t.equal(after.body.pending_email, null);
  t.equal((await api.request('POST', '/v1/account/email-change/confirm', { body: { token: good.token } })).body.code, 'invalid_token');
  t.equal((await api.request('POST', '/v1/account/email-change/confirm', { body: { token: 'garbage' } })).body.code, 'invalid_token');
  // The region is read-only.
  const region = await req('PATCH', '/v1/account', { region: 'us-east-1' });
  t.equal(region.status, 400);

  const audit = await req('GET', '/v1/audit?type=settings_changed&limit=100');
  t.same(audit.body.data.map((e: { description: string }) => e.description).reverse(), [
    'Account email change to new.owner@example.test requested; confirmation sent to the new address',
    'Account email change confirmation resent to new.owner@example.test',
    'Account email change to new.owner@example.test discarded',
    'Account email change to late@example.test requested; confirmation sent to the new address',
    'Account email change to new.owner@example.test requested; confirmation sent to the new address',
    'Account email changed from bob.smith@example.test to new.owner@example.test (confirmed by the new address)',
  ]);
});

t.test('email change: permissions and tenant isolation', async (t) => {
  const smtp = await startSmtpServer(t);
  const api = await startTestApp(t, { config: { smtpUrl: smtp.url } });
  const a = await api.signUp();
  const b = await api.signUp();
  await api.request('POST', '/v1/account/email-change', { key: a.key, body: { email: 'a-new@example.test' } });
  t.equal((await api.request('GET', '/v1/account/email-change', { key: b.key })).status, 404, 'B does not see A\'s pending change');
  t.equal((await api.request('DELETE', '/v1/account/email-change', { key: b.key })).status, 404, 'B cannot discard it');
  t.equal((await api.request('POST', '/v1/account/email-change/resend', { key: b.key })).status, 404, 'nor resend it');
  t.equal((await api.request('GET', '/v1/account', { key: b.key })).body.pending_email, null);
  t.equal((await api.request('GET', '/v1/account/email-change', { key: a.key })).status, 200);
  const reader = await api.request('POST', '/v1/api-keys', { key: a.key, body: { name: 'reader', scopes: ['account:read'] } });
  const denied = await api.request('POST', '/v1/account/email-change', { key: reader.body.secret, body: { email: 'x@example.test' } });
  t.equal(denied.status, 403);
  t.equal(denied.body.code, 'permission_denied');
  t.equal((await api.request('POST', '/v1/account/removal', { key: reader.body.secret, body: { approve_data_removal: true } })).status, 403);
  t.equal((await api.request('GET', '/v1/account/email-change', { key: reader.body.secret })).status, 200);
  // The token confirms A's change only: B's account is untouched.
  const { token } = linkToken(smtp.last('a-new@example.test'));
  await api.request('POST', '/v1/account/email-change/confirm', { body: { token } });
  t.equal((await api.request('GET', '/v1/account', { key: a.key })).body.email, 'a-new@example.test');
  t.equal((await api.request('GET', '/v1/account', { key: b.key })).body.email, b.body.account.email);
});

t.test('through the SDK: email change and removal', async (t) => {
  const api = await startTestApp(t);
  const a = await api.signUp();
  const coffer = new Coffer({ baseUrl: api.url, apiKey: a.key });
  const pending = await coffer.post('/v1/account/email-change', { body: { email: 'sdk-new@example.test' } });
  t.equal(pending.pending_email, 'sdk-new@example.test');
  t.equal((await coffer.get('/v1/account')).pending_email, 'sdk-new@example.test');
  await coffer.delete('/v1/account/email-change');
  const removed = await coffer.post('/v1/account/removal', { body: { approve_data_removal: true } });
  t.equal(removed.state, 'pending_deletion');
  const refused = (await coffer.patch('/v1/account', { body: { name: 'nope' } }).catch((e: unknown) => e)) as CofferError;
  t.ok(refused instanceof CofferError);
  t.equal(refused.code, 'account_pending_deletion');
  t.equal((await coffer.delete('/v1/account/removal')).state, 'trial');
});
