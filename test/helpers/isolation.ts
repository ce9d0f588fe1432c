// The tenant-isolation walk generated from the OpenAPI document (test/api/isolation-sweep.test.ts,
// test/api/partners-isolation-*.test.ts): account A holds one object of every kind; a caller of
// another tenant calls every operation that takes an id with A's ids, and every read with A's ids
// as query values. An operation whose id prefix has no object in A fails the walk, naming the
// prefix to add to `objectsOfA`, so a new endpoint is covered without editing the walk.
import fc from 'fast-check';
import type { Test } from 'tap';
import type { TestApp } from './app.ts';
import type { RecoveryFixture } from './recovery-fixture.ts';
import { DOC, operations, type Operation } from './openapi-fuzz.ts';
import { validArb, type Schema } from './schema-arbitraries.ts';
import { CARD, DAY, DETAILS } from './billing.ts';
import { runBillingCycle } from '../../workers/jobs/billing/cycle.ts';
import { meterUsage } from '../../workers/jobs/billing/metering.ts';
import { userIdentities } from '../../db/schema.ts';
import { newId } from '../../db/ids.ts';

/** Who calls: a credential, and the Coffer-Account header when a partner acts for a customer. */
export interface Caller {
  label: string;
  key: string;
  headers?: Record<string, string>;
}

/**
 * Refusals that do not look at the id at all, so they tell nothing about A: the caller's account
 * has no customers, the operation is about the caller's own user (refused while acting for a
 * customer), or only the account's own administrator may do it.
 */
const REFUSED = ['not_a_partner', 'own_user_only', 'administrator_required'];

export const PASSWORD = 'correct horse battery staple';

/** Bodies that pass validation, so the request reaches the lookup of the id (else a 400 proves nothing). */
const BODIES: Record<string, unknown> = {
  'PATCH /v1/api-keys/{id}': { name: 'pwned' },
  'PATCH /v1/tasks/{id}': { name: 'pwned' },
  'PATCH /v1/tags/{id}': { name: 'pwned' },
  'PATCH /v1/users/{id}': { name: 'Pwned' },
  'PATCH /v1/ip-allowlist/entries/{id}': { description: 'pwned' },
  'PATCH /v1/notifications/recipients/{id}': { display_name: 'Pwned' },
  'PATCH /v1/webhooks/{id}': { enabled: false },
  'POST /v1/entities/{id}/verifications': {},
};

function bodyFor(o: Operation): unknown {
  const key = `${o.method} ${o.path}`;
  if (key in BODIES) return BODIES[key];
  const schema = o.op.requestBody?.content?.['application/json']?.schema as Schema | undefined;
  return schema ? fc.sample(validArb(DOC, schema), { seed: 7, numRuns: 1 })[0] : undefined;
}

/**
 * Path parameters that are names in a per-account namespace, not ids: the same name used by B
 * addresses B's own object (B's `PUT /v1/iac/states/prod` writes B's "prod"), so the 404 this walk
 * expects does not apply. test/api/iac-states.test.ts proves B reaches none of A's states by name;
 * A holds one (objectsOfA) so the reads prove no list shows it to B.
 */
const ACCOUNT_NAMED = /^\/v1\/iac\/states\/\{name\}/;

const prefixOf = (pattern: string | undefined) => /^\^([a-z]+)_\[0-9a-z\]\{26\}\$$/.exec(pattern ?? '')?.[1];

export async function ok(res: { status: number; text: string; body: any }, what: string, status = [200, 201, 202]) {
  if (!status.includes(res.status)) throw new Error(`${what} answered ${res.status}: ${res.text}`);
  return res.body;
}

/** One object of every kind in account A, by id prefix. */
export async function objectsOfA(fx: RecoveryFixture): Promise<Record<string, string[]>> {
  const api = fx.app;
  const key = fx.account.key;
  const post = async (path: string, body?: unknown) => ok(await api.request('POST', path, { key, body }), `POST ${path}`);
  const get = async (path: string) => ok(await api.request('GET', path, { key }), `GET ${path}`);
  const ids: Record<string, string[]> = {};
  const add = (id: string) => (ids[id.slice(0, id.indexOf('_'))] ??= []).push(id);

  add(fx.taskId);
  add(fx.entityId);
  add(fx.runId);
  add((await get(`/v1/snapshots/${fx.runId}/items`)).data[0].id);
  add((await post('/v1/tags', { name: 'finance' })).id);
  add(fx.account.userId);
  add((await post('/v1/users', { email: 'invited@a.example', role: 'custom', permissions: [] })).id);
  add(fx.account.keyId);
  add((await post('/v1/api-keys', { name: 'ci' })).id);
  const me = await get('/v1/me');
  add((await post('/v1/sessions', { email: me.user.email, password: PASSWORD })).id);
  const webhook = await post('/v1/webhooks', { url: 'https://hooks.example.com/a', events: ['ping'] });
  add(webhook.id);
  add((await post(`/v1/webhooks/${webhook.id}/ping`)).id);
  add((await post('/v1/notifications/recipients', { email: 'ops@a.example', display_name: 'Ops', types: ['exceptions'] })).id);
  add((await post('/v1/ip-allowlist/entries', { cidr: '203.0.113.0/24' })).id);
  add((await post('/v1/restores', { source: { snapshot_id: fx.runId }, destination: { mode: 'non_destructive' } })).id);
  add((await post('/v1/exports', { source: { snapshot_id: fx.runId }, destination: { type: 'download' } })).id);
  add((await post(`/v1/entities/${fx.entityId}/verifications`, {})).id);
  // A linked Google identity (linking needs a live provider: test/api/identities.test.ts does it for real).
  const identity = newId('idn');
  await api.deps.db.insert(userIdentities).values({ id: identity, accountId: fx.account.accountId, userId: fx.account.userId, provider: 'google', issuer: 'https://accounts.google.com', subject: 'a-subject', email: me.user.email, createdAt: api.clock.now() });
  add(identity);

  // Billing: a card, a monthly subscription after the trial, one invoiced and paid month.
  await ok(await api.request('PUT', '/v1/billing/details', { key, body: DETAILS }), 'PUT /v1/billing/details');
  add((await post('/v1/billing/payment-methods', CARD)).id);
  await post('/v1/billing/subscription', { plan: 'monthly' });
  api.clock.advance(15 * DAY);
  await runBillingCycle(api.deps);
  await meterUsage(api.deps);
  api.clock.advance(31 * DAY);
  await runBillingCycle(api.deps);
  for (const inv of (await get('/v1/billing/invoices')).data) add(inv.id);
  for (const pay of (await get('/v1/billing/payments')).data) add(pay.id);

  // The account itself (customers are accounts) and a partner's invitation to manage it.
  add(fx.accountId);
  const partner = await api.signUp({ kind: 'partner' });
  add((await ok(await api.request('POST', '/v1/partner-invitations', { key: partner.key, body: { account_id: fx.accountId, billing: 'direct' } }), 'POST /v1/partner-invitations')).id);

  await ok(await api.request('PUT', '/v1/iac/states/a-prod-state', { key, body: { version: 4, serial: 1, lineage: 'lineage-of-a' } }), 'PUT /v1/iac/states/a-prod-state');
  add((await get('/v1/audit')).data[0].id);
  for (const evt of (await get('/v1/activity')).data.slice(0, 1)) add(evt.id);
  return ids;
}

/**
 * Every authenticated operation that takes an id, called by `caller` with each of A's ids of the
 * matching prefix: 404 every time (or a refusal that does not depend on the id at all, REFUSED),
 * and with an id of another kind: 400 or 404.
 */
export async function walkIds(t: Test, api: TestApp, ids: Record<string, string[]>, caller: Caller) {
  const ops = operations().filter((o) => !o.public);
  await t.test(`${caller.label}: every operation that takes an id: 404 for each of A's ids, 400 or 404 for an id of another kind`, async (t) => {
    let rotate = 0;
    for (const o of ops) {
      const pathParams = (o.op.parameters ?? []).filter((p: Schema) => p.in === 'path');
      if (!pathParams.length || ACCOUNT_NAMED.test(o.path)) continue;
      const label = `${o.method} ${o.path}`;
      const prefixes = pathParams.map((p: Schema) => prefixOf(p.schema?.pattern));
      const unknown = pathParams.filter((_: Schema, i: number) => !prefixes[i]).map((p: Schema) => p.name);
      if (unknown.length) {
        t.fail(`${label}: path parameter ${unknown.join(', ')} has no id pattern (^prefix_[0-9a-z]{26}$), so this sweep cannot pick A's object for it`);
        continue;
      }
      const missing = prefixes.filter((p: string) => !ids[p]?.length);
      if (missing.length) {
        t.fail(`${label} takes a ${missing.map((p: string) => `${p}_…`).join(' and ')} id, but account A has no object of that kind: create one in objectsOfA() of this file`);
        continue;
      }
      const body = bodyFor(o);
      // Each of A's ids of the first parameter's kind, with A's first id of every other parameter's.
      for (const first of ids[prefixes[0]]!) {
        const values = [first, ...prefixes.slice(1).map((p: string) => ids[p]![0]!)];
        let i = 0;
        const url = o.path.replace(/\{\w+\}/g, () => values[i++]!);
        const res = await api.request(o.method, url, { key: caller.key, headers: caller.headers, ...(body === undefined ? {} : { body }) });
        const refused = res.status === 404 || (res.status === 403 && REFUSED.includes(res.body?.code));
        t.ok(refused, `${o.method} ${url} by ${caller.label}: ${res.status === 404 ? '404' : res.text.slice(0, 300)}`);
      }
      const others = Object.keys(ids).filter((p) => p !== prefixes[0]);
      const other = ids[others[rotate++ % others.length]!]![0]!;
      const url = o.path.replace(/\{\w+\}/, other).replace(/\{\w+\}/g, (m) => ids[prefixes[pathParams.findIndex((p: Schema) => `{${p.name}}` === m)]!]![0]!);
      const res = await api.request(o.method, url, { key: caller.key, headers: caller.headers, ...(body === undefined ? {} : { body }) });
      t.ok(res.status === 400 || res.status === 404 || (res.status === 403 && REFUSED.includes(res.body?.code)), `${o.method} ${url} by ${caller.label} (an id of another kind): ${res.status}`);
    }
  });
}

/** Every read without an id, with each of A's ids as every query value: nothing of A (`secrets`) in a 200. */
export async function walkReads(t: Test, api: TestApp, ids: Record<string, string[]>, secrets: string[], caller: Caller) {
  const ops = operations().filter((o) => !o.public);
  const every = Object.values(ids).flat();
  await t.test(`${caller.label}: every read without an id, with each of A's ids as every query value, shows nothing of A`, async (t) => {
    for (const o of ops) {
      if (o.method !== 'GET' || o.path.includes('{')) continue;
      const params: Schema[] = (o.op.parameters ?? []).filter((p: Schema) => p.in === 'query');
      const urls = [o.path];
      for (const p of params) {
        const prefix = prefixOf(p.schema?.pattern);
        const s = p.schema ?? {};
        // A query value of a fixed form (enum, date, number) cannot carry an id; an id pattern takes its own kind only.
        if (!prefix && (s.enum || s.pattern || s.format || (s.type && s.type !== 'string'))) continue;
        for (const id of prefix ? ids[prefix] ?? [] : every) urls.push(`${o.path}?${encodeURIComponent(p.name)}=${encodeURIComponent(id)}`);
      }
      let leaks = 0;
      for (let i = 0; i < urls.length; i += 8) {
        const answers = await Promise.all(urls.slice(i, i + 8).map(async (url) => ({ url, res: await api.request('GET', url, { key: caller.key, headers: caller.headers }) })));
        for (const { url, res } of answers) {
          if (res.status >= 500) t.fail(`GET ${url} by ${caller.label}: ${res.status} ${res.text.slice(0, 200)}`);
          if (res.status !== 200) continue;
          const found = secrets.filter((s) => res.text.includes(s));
          if (found.length) {
            leaks++;
            t.fail(`GET ${url} by ${caller.label} shows ${found.join(', ')} of account A`);
          }
        }
      }
      t.equal(leaks, 0, `${o.operationId}: ${urls.length} reads by ${caller.label}, nothing of A`);
    }
  });
}
