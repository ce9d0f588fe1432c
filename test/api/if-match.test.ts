// Lost updates: every operation the live OpenAPI document lists with an If-Match header refuses a
// stale ETag with 412 and changes nothing. The operations come from the document (which lists the
// header from the routes' `config.ifMatch`), so a new one is covered as soon as it exists: the test
// fails until MAKERS below knows how to create the object it changes.
import t from 'tap';
import { startTestApp, type TestApp, type SignedUp } from '../helpers/app.ts';
import { CARD, DETAILS } from '../helpers/billing.ts';
import { idpMetadata, makeIdpKeys } from '../helpers/saml-idp.ts';
import { expectedVersion } from '../../api/etag.ts';

type Method = 'PATCH' | 'PUT' | 'POST' | 'DELETE';

interface Maker {
  /** Creates the object (or puts the singleton in a state the operation applies to); returns its id, if any. */
  make(api: TestApp, admin: SignedUp): Promise<string | undefined>;
  /** Where the object is read back (default: the operation's own path). */
  read?: string;
  /** The object lives under a partner account (a customer): the admin signs up as a partner. */
  partner?: boolean;
  /** A valid body per method; methods without one send none. */
  body?: Partial<Record<Method, unknown>>;
}

async function created(api: TestApp, admin: SignedUp, path: string, body: unknown): Promise<string> {
  const res = await api.request('POST', path, { key: admin.key, body });
  if (res.status !== 201) throw new Error(`POST ${path} answered ${res.status}: ${res.text}`);
  return res.body.id;
}

async function invite(api: TestApp, admin: SignedUp): Promise<string> {
  return created(api, admin, '/v1/users', { email: `user-${Math.random().toString(36).slice(2)}@example.com`, role: 'custom', permissions: [] });
}

const exists = async () => undefined;

/** How to make one object for each path that takes If-Match, keyed by the OpenAPI path. */
const MAKERS: Record<string, Maker> = {
  '/v1/account': { make: exists, body: { PATCH: { name: 'Lost update' } } },
  '/v1/api-keys/{id}': { make: (api, a) => created(api, a, '/v1/api-keys', { name: 'ci' }), body: { PATCH: { name: 'renamed' } } },
  '/v1/tasks/{id}': { make: (api, a) => created(api, a, '/v1/tasks', { name: 'Team' }), body: { PATCH: { name: 'renamed' } } },
  '/v1/tags/{id}': { make: (api, a) => created(api, a, '/v1/tags', { name: 'finance' }), body: { PATCH: { name: 'renamed' } } },
  '/v1/users/{id}': { make: invite, body: { PATCH: { name: 'Renamed' } } },
  '/v1/users/{id}/deactivate': { make: invite, read: '/v1/users/{id}' },
  '/v1/users/{id}/reactivate': {
    async make(api, a) {
      const id = await invite(api, a);
      const res = await api.request('POST', `/v1/users/${id}/deactivate`, { key: a.key });
      if (res.status !== 200) throw new Error(`deactivate answered ${res.status}: ${res.text}`);
      return id;
    },
    read: '/v1/users/{id}',
  },
  '/v1/security/policy': { make: exists, body: { PATCH: { password_expiration_days: 30 } } },
  '/v1/ip-allowlist': { make: exists, body: { PATCH: { enabled: false } } },
  '/v1/billing/payment-settings': { make: exists, body: { PATCH: { payment_day: 5 } } },
  '/v1/ip-allowlist/entries/{id}': { make: (api, a) => created(api, a, '/v1/ip-allowlist/entries', { cidr: '203.0.113.0/24' }), body: { PATCH: { description: 'renamed' } } },
  '/v1/security/saml': {
    make: exists,
    body: { PUT: { metadata_xml: idpMetadata('https://idp.example.test', 'https://idp.example.test/sso', makeIdpKeys().certB64), enabled: false, current_password: 'correct horse battery staple' } },
  },
  '/v1/notifications/settings': { make: exists, body: { PATCH: { frequency: 'monthly' } } },
  '/v1/notifications/recipients/{id}': {
    make: (api, a) => created(api, a, '/v1/notifications/recipients', { email: 'ops@example.com', display_name: 'Ops', types: ['exceptions'] }),
    body: { PATCH: { display_name: 'Renamed' } },
  },
  '/v1/webhooks/{id}': { make: (api, a) => created(api, a, '/v1/webhooks', { url: 'https://hooks.example.com/x', events: ['ping'] }), body: { PATCH: { enabled: false } } },
  '/v1/billing/subscription': {
    async make(api, a) {
      const details = await api.request('PUT', '/v1/billing/details', { key: a.key, body: DETAILS });
      if (details.status !== 201 && details.status !== 200) throw new Error(`billing details answered ${details.status}: ${details.text}`);
      await created(api, a, '/v1/billing/payment-methods', CARD);
      const res = await api.request('POST', '/v1/billing/subscription', { key: a.key, body: { plan: 'monthly' } });
      if (res.status !== 201) throw new Error(`subscribe answered ${res.status}: ${res.text}`);
      return undefined;
    },
  },
  '/v1/billing/details': {
    async make(api, a) {
      const res = await api.request('PUT', '/v1/billing/details', { key: a.key, body: DETAILS });
      if (res.status !== 201 && res.status !== 200) throw new Error(`billing details answered ${res.status}: ${res.text}`);
      return undefined;
    },
    body: { PUT: { ...DETAILS, city: 'Manchester' } },
  },
  '/v1/storage': { make: exists, body: { PUT: { kind: 'managed' } } },
  '/v1/customers/{id}': {
    partner: true,
    make: (api, a) => created(api, a, '/v1/customers', { name: 'Clinic', region: 'eu-west-1', billing: 'partner' }),
    body: { PATCH: { billing: 'direct' } },
  },
  // Addressed by name ({id} is the name here); the serial is the version, and a PUT must raise it.
  '/v1/iac/states/{name}': {
    async make(api, a) {
      const res = await api.request('PUT', '/v1/iac/states/prod', { key: a.key, body: { version: 4, serial: 3, lineage: 'lin' } });
      if (res.status !== 201) throw new Error(`PUT state answered ${res.status}: ${res.text}`);
      return 'prod';
    },
    body: { PUT: { version: 4, serial: 10, lineage: 'lin' } },
  },
};

interface Operation {
  method: Method;
  path: string;
}

function ifMatchOperations(doc: { paths: Record<string, Record<string, { parameters?: { in: string; name: string }[] }>> }): Operation[] {
  const ops: Operation[] = [];
  for (const [path, byMethod] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(byMethod)) {
      if (op.parameters?.some((p) => p.in === 'header' && p.name.toLowerCase() === 'if-match')) ops.push({ method: method.toUpperCase() as Method, path });
    }
  }
  return ops;
}

const versionOf = (etag: string | null) => Number(/^"v(\d+)"$/.exec(etag ?? '')?.[1] ?? NaN);

t.test('every operation that takes If-Match refuses a stale ETag with 412 and changes nothing', async (t) => {
  // Tasks need a Dropbox app configured (creating one only builds its authorize URL).
  const api = await startTestApp(t, { config: { dropbox: { appKey: 'coffer-test-app', appSecret: 'coffer-test-secret', apiUrl: 'http://127.0.0.1:9' } } });
  const doc = await api.request('GET', '/openapi.json');
  t.equal(doc.status, 200);
  const ops = ifMatchOperations(doc.body);
  const listed = new Set(ops.map((o) => `${o.method} ${o.path}`));
  for (const op of ['PATCH /v1/tags/{id}', 'PATCH /v1/api-keys/{id}', 'DELETE /v1/api-keys/{id}', 'PUT /v1/storage', 'PATCH /v1/account']) {
    t.ok(listed.has(op), `${op} is listed with If-Match`);
  }

  for (const { method, path } of ops) {
    const label = `${method} ${path}`;
    await t.test(label, async (t) => {
      const maker = MAKERS[path];
      if (!maker) {
        t.fail(`${label} takes If-Match, but this test does not know how to create its object: add '${path}' to MAKERS`);
        return;
      }
      if ((method === 'PATCH' || method === 'PUT') && maker.body?.[method] === undefined) {
        t.fail(`${label}: MAKERS['${path}'] has no ${method} body`);
        return;
      }
      // A fresh account per operation: singletons start from their defaults, nothing leaks between rows.
      const admin = await api.signUp(maker.partner ? { kind: 'partner' } : {});
      const id = await maker.make(api, admin);
      const url = id ? path.replace(/\{(id|name)\}/, id) : path;
      const readUrl = (maker.read ?? path).replace(/\{(id|name)\}/, id ?? '');
      const before = await api.request('GET', readUrl, { key: admin.key });
      t.equal(before.status, 200, `${label}: GET ${readUrl}`);
      const current = versionOf(before.headers.get('etag'));
      t.ok(Number.isInteger(current), `${label}: GET ${readUrl} sends an ETag (${before.headers.get('etag')})`);
      const stale = current > 0 ? [current - 1, current + 1] : [current + 1];
      const body = maker.body?.[method];
      for (const v of stale) {
        const res = await api.request(method, url, { key: admin.key, headers: { 'if-match': `"v${v}"` }, ...(body === undefined ? {} : { body }) });
        t.equal(res.status, 412, `${label} with "v${v}" while the object is at "v${current}": 412`);
        t.equal(res.body?.code, 'precondition_failed', `${label}: problem code`);
        const after = await api.request('GET', readUrl, { key: admin.key });
        t.same(after.body, before.body, `${label}: nothing changed`);
        t.equal(after.headers.get('etag'), before.headers.get('etag'), `${label}: same version`);
      }
      // The same request with the current ETag goes through: the 412 above was about the version.
      const ok = await api.request(method, url, { key: admin.key, headers: { 'if-match': `"v${current}"` }, ...(body === undefined ? {} : { body }) });
      t.ok(ok.status >= 200 && ok.status < 300, `${label} with the current ETag: ${ok.status} ${ok.status >= 300 ? ok.text : ''}`);
    });
  }
});

t.test('a route that reads If-Match without declaring config.ifMatch fails loudly (so it cannot be missing from the document)', async (t) => {
  const request = { method: 'PATCH', headers: { 'if-match': '"v1"' }, routeOptions: { url: '/v1/things/:id', config: {} } } as never;
  t.throws(() => expectedVersion(request), /PATCH \/v1\/things\/:id reads If-Match without declaring config\.ifMatch/);
  const declared = { method: 'PATCH', headers: { 'if-match': '"v3"' }, routeOptions: { url: '/v1/things/:id', config: { ifMatch: true } } } as never;
  t.equal(expectedVersion(declared), 3);
});
