import t from 'tap';
import { startTestApp } from '../helpers/app.ts';
import { startSmtpServer } from '../helpers/smtp.ts';
import { inviteAndConfirm } from '../helpers/security.ts';

const OFFICE = '203.0.113.7';
const from = (ip: string) => ({ 'x-forwarded-for': ip });

t.test('entries, enabling, enforcement for keys and sessions, lock-out protection, notifications', async (t) => {
  const smtp = await startSmtpServer(t);
  const api = await startTestApp(t, { config: { smtpUrl: smtp.url, trustProxy: true } });
  const admin = await api.signUp();
  const adminEmail = admin.body.user.email;
  const other = await inviteAndConfirm(api, smtp, admin.key, { role: 'administrator' });
  const req = (method: string, path: string, ip: string, body?: unknown, key = admin.key) => api.request(method, path, { key, body, headers: from(ip) });

  const initial = await req('GET', '/v1/ip-allowlist', OFFICE);
  t.equal(initial.status, 200);
  t.match(initial.body, { enabled: false, entries: 0, your_ip: OFFICE });

  const empty = await req('PATCH', '/v1/ip-allowlist', OFFICE, { enabled: true });
  t.equal(empty.status, 409, 'enabling an empty list would lock everyone out');
  t.equal(empty.body.code, 'would_lock_out');

  const elsewhere = await req('POST', '/v1/ip-allowlist/entries', OFFICE, { description: 'Secondary office', range: { from: '79.181.255.0', to: '79.181.255.16' } });
  t.equal(elsewhere.status, 201);
  t.match(elsewhere.body, { kind: 'range', range: { from: '79.181.255.0', to: '79.181.255.16' }, addresses: null, cidr: null, description: 'Secondary office' });
  const notMine = await req('PATCH', '/v1/ip-allowlist', OFFICE, { enabled: true });
  t.equal(notMine.status, 409, 'the caller\'s own address must be on the list');

  const office = await req('POST', '/v1/ip-allowlist/entries', OFFICE, { description: 'Office', addresses: [OFFICE, '2001:DB8:0:0::1', OFFICE] });
  t.equal(office.status, 201);
  t.same(office.body.addresses, [OFFICE, '2001:db8::1'], 'normalised and de-duplicated');
  const mailsBefore = smtp.messages.length;

  const enabled = await req('PATCH', '/v1/ip-allowlist', OFFICE, { enabled: true });
  t.equal(enabled.status, 200);
  t.match(enabled.body, { enabled: true, entries: 2 });

  const note = smtp.messages.slice(mailsBefore);
  t.equal(note.length, 1, 'one notification');
  t.same(note[0]!.to.sort(), [adminEmail, other.email].sort(), 'to every active administrator');
  t.equal(note[0]!.subject, 'Coffer: your IP restrictions changed');
  t.match(note[0]!.text, /IP restrictions were enabled/);
  t.match(note[0]!.text, /79\.181\.255\.0 – 79\.181\.255\.16/);
  t.match(note[0]!.text, new RegExp(`Changed from ${OFFICE.replace(/\./g, '\\.')}`));

  // Enforcement: API keys and sessions alike, every authenticated route.
  const outside = await req('GET', '/v1/me', '198.51.100.1');
  t.equal(outside.status, 403);
  t.equal(outside.body.code, 'access_denied');
  t.equal((await req('GET', '/v1/me', OFFICE)).status, 200);
  t.equal((await req('GET', '/v1/me', '79.181.255.16')).status, 200, 'range ends are inclusive');
  t.equal((await req('GET', '/v1/me', '79.181.255.17')).status, 403);
  t.equal((await req('GET', '/v1/me', '::ffff:203.0.113.7')).status, 200, 'an IPv4-mapped IPv6 address is its IPv4 address');
  t.equal((await req('GET', '/v1/me', '2001:db8:0000::1')).status, 200, 'IPv6 in any notation');

  const signInOutside = await api.request('POST', '/v1/sessions', { body: { email: other.email, password: other.password }, headers: from('198.51.100.1') });
  t.equal(signInOutside.status, 403);
  t.equal(signInOutside.body.code, 'access_denied');
  const session = await api.request('POST', '/v1/sessions', { body: { email: other.email, password: other.password }, headers: from(OFFICE) });
  t.equal(session.status, 201);
  t.equal((await req('GET', '/v1/me', OFFICE, undefined, session.body.token)).status, 200);
  t.equal((await req('GET', '/v1/me', '198.51.100.1', undefined, session.body.token)).body.code, 'access_denied', 'a session from elsewhere is refused');
  const health = await api.request('GET', '/healthz', { headers: from('198.51.100.1') });
  t.equal(health.status, 200, 'public routes are not restricted');
  t.same(health.body, { status: 'ok' });

  // Lock-out protection while enabled.
  const removeMine = await req('DELETE', `/v1/ip-allowlist/entries/${office.body.id}`, OFFICE);
  t.equal(removeMine.status, 409);
  t.equal(removeMine.body.code, 'would_lock_out');
  const editMine = await req('PATCH', `/v1/ip-allowlist/entries/${office.body.id}`, OFFICE, { addresses: ['2001:db8::1'] });
  t.equal(editMine.status, 409);
  t.equal(editMine.body.code, 'would_lock_out');
  const rename = await req('PATCH', `/v1/ip-allowlist/entries/${office.body.id}`, OFFICE, { description: 'HQ' });
  t.equal(rename.status, 200, 'a description change is always fine');
  const removeOther = await req('DELETE', `/v1/ip-allowlist/entries/${elsewhere.body.id}`, OFFICE);
  t.equal(removeOther.status, 204);
  t.equal((await req('GET', `/v1/ip-allowlist/entries/${elsewhere.body.id}`, OFFICE)).status, 404);

  // The caller's own address is covered by a CIDR block now, so the single address can go.
  const block = await req('POST', '/v1/ip-allowlist/entries', OFFICE, { cidr: '203.0.113.0/24' });
  t.equal(block.status, 201);
  t.equal((await req('DELETE', `/v1/ip-allowlist/entries/${office.body.id}`, OFFICE)).status, 204);
  t.equal((await req('GET', '/v1/me', '203.0.113.200')).status, 200);

  const disabled = await req('PATCH', '/v1/ip-allowlist', OFFICE, { enabled: false });
  t.equal(disabled.body.enabled, false);
  t.equal((await req('GET', '/v1/me', '198.51.100.1')).status, 200, 'everything is allowed again');

  const audit = await api.request('GET', '/v1/audit?type=ip_allowlist_changed&limit=100', { key: admin.key });
  t.same(audit.body.data.map((e: { description: string }) => e.description), [
    'IP restrictions disabled',
    'Trusted IP addresses removed: 203.0.113.7, 2001:db8::1',
    'Trusted IP addresses added: 203.0.113.0/24',
    'Trusted IP addresses removed: 79.181.255.0 – 79.181.255.16',
    'Trusted IP addresses changed: 203.0.113.7, 2001:db8::1 → 203.0.113.7, 2001:db8::1',
    'IP restrictions enabled',
    'Trusted IP addresses added: 203.0.113.7, 2001:db8::1 (Office)',
    'Trusted IP addresses added: 79.181.255.0 – 79.181.255.16 (Secondary office)',
  ]);
  t.equal(audit.body.data[0].ip, OFFICE);
  const ipMails = smtp.messages.filter((m) => m.subject === 'Coffer: your IP restrictions changed');
  t.equal(ipMails.length, 8, 'every change is emailed');
});

t.test('IPv6 ranges and CIDR blocks; validation', async (t) => {
  const api = await startTestApp(t, { config: { trustProxy: true } });
  const admin = await api.signUp();
  const me = '2001:db8:abcd:12::5';
  const req = (method: string, path: string, ip: string, body?: unknown) => api.request(method, path, { key: admin.key, body, headers: from(ip) });

  const cidr = await req('POST', '/v1/ip-allowlist/entries', me, { cidr: '2001:DB8:ABCD:0012:0:0:0:0/48' });
  t.equal(cidr.status, 201);
  t.equal(cidr.body.cidr, '2001:db8:abcd::/48', 'normalised to the network address');
  const range = await req('POST', '/v1/ip-allowlist/entries', me, { range: { from: 'fd00::10', to: 'fd00::1:0' } });
  t.equal(range.status, 201);
  t.equal((await req('PATCH', '/v1/ip-allowlist', me, { enabled: true })).status, 200);

  for (const [ip, status] of [
    ['2001:db8:abcd:ffff::1', 200], ['2001:db8:abce::1', 403], ['fd00::10', 200], ['fd00::ffff', 200], ['fd00::1:0', 200],
    ['fd00::1:1', 403], ['fd00::f', 403], ['10.0.0.1', 403],
  ] as const) {
    t.equal((await req('GET', '/v1/me', ip)).status, status, `${ip} → ${status}`);
  }

  for (const [body, pointer] of [
    [{ addresses: ['1.2.3'] }, '/body/addresses/0'],
    [{ addresses: ['1.2.3.4', 'example.com'] }, '/body/addresses/1'],
    [{ addresses: ['fe80::1%eth0'] }, '/body/addresses/0'],
    [{ cidr: '10.0.0.0/33' }, '/body/cidr'],
    [{ cidr: '10.0.0.0' }, '/body/cidr'],
    [{ cidr: '2001:db8::/129' }, '/body/cidr'],
    [{ range: { from: '10.0.0.9', to: '10.0.0.1' } }, '/body/range/to'],
    [{ range: { from: '10.0.0.1', to: 'fd00::1' } }, '/body/range/to'],
    [{ addresses: ['1.2.3.4'], cidr: '10.0.0.0/8' }, '/body/cidr'],
    [{ description: 'nothing' }, '/body'],
  ] as const) {
    const res = await req('POST', '/v1/ip-allowlist/entries', me, body);
    t.equal(res.status, 400, JSON.stringify(body));
    t.same(res.body.errors?.map((e: { pointer: string }) => e.pointer), [pointer], JSON.stringify(body));
  }
  const empty = await req('POST', '/v1/ip-allowlist/entries', me, { addresses: [] });
  t.equal(empty.status, 400);

  const list = await req('GET', '/v1/ip-allowlist/entries?limit=1', me);
  t.equal(list.body.data.length, 1);
  t.equal(list.body.data[0].id, cidr.body.id);
  const next = await req('GET', `/v1/ip-allowlist/entries?limit=1&cursor=${list.body.next_cursor}`, me);
  t.same(next.body.data.map((e: { id: string }) => e.id), [range.body.id]);
  t.equal(next.body.next_cursor, null);

  const etag = (await req('GET', `/v1/ip-allowlist/entries/${range.body.id}`, me)).headers.get('etag');
  t.equal(etag, '"v1"');
  const stale = await api.request('PATCH', `/v1/ip-allowlist/entries/${range.body.id}`, { key: admin.key, body: { description: 'x' }, headers: { ...from(me), 'if-match': '"v7"' } });
  t.equal(stale.status, 412);
});

t.test('entries of another account are 404; one account\'s allowlist does not affect another', async (t) => {
  const api = await startTestApp(t, { config: { trustProxy: true } });
  const a = await api.signUp();
  const b = await api.signUp();
  const entry = await api.request('POST', '/v1/ip-allowlist/entries', { key: a.key, body: { addresses: ['192.0.2.1'] }, headers: from('192.0.2.1') });
  await api.request('PATCH', '/v1/ip-allowlist', { key: a.key, body: { enabled: true }, headers: from('192.0.2.1') });
  const id = entry.body.id;
  for (const [method, body] of [['GET', undefined], ['PATCH', { description: 'pwned' }], ['DELETE', undefined]] as const) {
    const res = await api.request(method, `/v1/ip-allowlist/entries/${id}`, { key: b.key, body, headers: from('198.51.100.9') });
    t.equal(res.status, 404, `${method} ${id}`);
  }
  t.same((await api.request('GET', '/v1/ip-allowlist/entries', { key: b.key })).body.data, []);
  t.equal((await api.request('GET', '/v1/ip-allowlist', { key: b.key, headers: from('198.51.100.9') })).body.enabled, false);
  t.equal((await api.request('GET', '/v1/me', { key: a.key, headers: from('198.51.100.9') })).status, 403);
});

t.test('a custom-role user with security:manage may manage the list, and is told about their own changes', async (t) => {
  const smtp = await startSmtpServer(t);
  const api = await startTestApp(t, { config: { smtpUrl: smtp.url, trustProxy: true } });
  const admin = await api.signUp();
  const officer = await inviteAndConfirm(api, smtp, admin.key, { permissions: ['security:manage'] });
  const reader = await inviteAndConfirm(api, smtp, admin.key, { permissions: ['backups:read'] });
  const session = (await api.request('POST', '/v1/sessions', { body: { email: officer.email, password: officer.password }, headers: from(OFFICE) })).body.token;
  const readerSession = (await api.request('POST', '/v1/sessions', { body: { email: reader.email, password: reader.password }, headers: from(OFFICE) })).body.token;
  t.equal((await api.request('GET', '/v1/ip-allowlist', { key: readerSession, headers: from(OFFICE) })).body.code, 'permission_denied');
  const before = smtp.messages.length;
  const added = await api.request('POST', '/v1/ip-allowlist/entries', { key: session, body: { cidr: '203.0.113.0/28' }, headers: from(OFFICE) });
  t.equal(added.status, 201);
  const note = smtp.messages.slice(before);
  t.equal(note.length, 1);
  t.same(note[0]!.to.sort(), [admin.body.user.email, officer.email].sort(), 'administrators and the officer, not the reader');
  const event = (await api.request('GET', '/v1/audit?type=ip_allowlist_changed', { key: admin.key })).body.data[0];
  t.match(event, { performed_by: officer.email, ip: OFFICE, description: 'Trusted IP addresses added: 203.0.113.0/28' });
});
