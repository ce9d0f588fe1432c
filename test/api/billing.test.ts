import t from 'tap';
import { newId } from '../../db/ids.ts';
import { runBillingCycle } from '../../workers/jobs/billing/cycle.ts';
import { CARD, DAY, DECLINE, DETAILS, scopedKey, setup } from '../helpers/billing.ts';

t.test('plans come from configuration; billing details: mandatory fields, the Israeli tax id rule, ETags', async (t) => {
  const { api, admin } = await setup(t);
  const key = admin.key;
  const plans = await api.request('GET', '/v1/billing/plans', { key });
  t.equal(plans.status, 200);
  t.same(plans.body, {
    currency: 'USD', trial_days: 14, minimum_entities: 1,
    plans: [
      { plan: 'monthly', months: 1, entity_price: 300, storage_gb_price: 0, discount_percent: 0, billed: 'in_arrears', terms_days: 7 },
      { plan: 'annual', months: 12, entity_price: 3240, storage_gb_price: 0, discount_percent: 10, billed: 'in_advance', terms_days: 30 },
    ],
  });

  t.equal((await api.request('GET', '/v1/billing/details', { key })).status, 404);
  const { phone: _phone, ...noPhone } = DETAILS;
  const missing = await api.request('PUT', '/v1/billing/details', { key, body: noPhone });
  t.equal(missing.status, 400);
  t.match(missing.body.errors, [{ pointer: '/body/phone' }]);

  const israel = { ...DETAILS, country: 'IL', city: 'Tel Aviv', zip: '6100000' };
  const { company_tax_id: _tax, ...israelNoTax } = israel;
  const noTax = await api.request('PUT', '/v1/billing/details', { key, body: israelNoTax });
  t.equal(noTax.status, 400, 'IL without a tax id');
  t.equal(noTax.body.code, 'validation_failed');
  t.same(noTax.body.errors, [{ pointer: '/body/company_tax_id', detail: 'the company tax id is mandatory for companies in Israel (VAT)' }]);
  const blankTax = await api.request('PUT', '/v1/billing/details', { key, body: { ...israel, company_tax_id: '  ' } });
  t.equal(blankTax.status, 400, 'a blank tax id is no tax id');
  t.equal(blankTax.body.errors[0].pointer, '/body/company_tax_id');
  const badTax = await api.request('PUT', '/v1/billing/details', { key, body: { ...israel, company_tax_id: '12AB' } });
  t.equal(badTax.status, 400);
  t.equal(badTax.body.errors[0].pointer, '/body/company_tax_id');
  const euro = await api.request('PUT', '/v1/billing/details', { key, body: { ...DETAILS, currency: 'EUR' } });
  t.equal(euro.status, 400);
  t.equal(euro.body.errors[0].pointer, '/body/currency');

  const created = await api.request('PUT', '/v1/billing/details', { key, body: { ...israel, company_tax_id: '514596667' } });
  t.equal(created.status, 201);
  t.equal(created.headers.get('etag'), '"v1"');
  t.match(created.body, { country: 'IL', company_tax_id: '514596667', invoice_delivery: 'attachment', title: 'Ms', address_line3: null, state: null });
  const stale = await api.request('PUT', '/v1/billing/details', { key, body: DETAILS, headers: { 'if-match': '"v7"' } });
  t.equal(stale.status, 412);
  const updated = await api.request('PUT', '/v1/billing/details', { key, body: { ...DETAILS, invoice_delivery: 'link' }, headers: { 'if-match': '"v1"' } });
  t.equal(updated.status, 200);
  t.equal(updated.headers.get('etag'), '"v2"');
  t.match(updated.body, { country: 'GB', invoice_delivery: 'link', email: 'bob.smith@pizza.example' });
  t.same((await api.request('GET', '/v1/billing/details', { key })).body, updated.body);
});

t.test('without billing:manage every billing route is 403; messages need billing:notifications', async (t) => {
  const { api, admin } = await setup(t);
  const reader = await scopedKey(api, admin.key, ['backups:read']);
  const notifications = await scopedKey(api, admin.key, ['billing:notifications']);
  const someId = newId('inv');
  const routes: [string, string, unknown?][] = [
    ['GET', '/v1/billing/plans'], ['GET', '/v1/billing/status'], ['GET', '/v1/billing/subscription'], ['POST', '/v1/billing/subscription', { plan: 'monthly' }],
    ['DELETE', '/v1/billing/subscription'], ['GET', '/v1/billing/details'], ['PUT', '/v1/billing/details', DETAILS],
    ['POST', '/v1/billing/payment-methods', CARD], ['GET', '/v1/billing/payment-methods'], ['GET', '/v1/billing/invoices'],
    ['GET', `/v1/billing/invoices/${someId}`], ['GET', `/v1/billing/invoices/${someId}/pdf`], ['POST', `/v1/billing/invoices/${someId}/email`],
    ['POST', `/v1/billing/invoices/${someId}/pay`], ['GET', '/v1/billing/payments'], ['GET', '/v1/billing/usage'],
  ];
  for (const [method, path, body] of routes) {
    for (const key of [reader, notifications]) {
      const res = await api.request(method, path, { key, body });
      t.equal(res.status, 403, `${method} ${path}`);
      t.equal(res.body.code, 'permission_denied');
    }
  }
  const denied = await api.request('GET', '/v1/billing/messages', { key: reader });
  t.equal(denied.status, 403, 'messages without billing:notifications');
  t.match(denied.body.detail, /billing:notifications/);
  const allowed = await api.request('GET', '/v1/billing/messages', { key: notifications });
  t.equal(allowed.status, 200);
  t.same(allowed.body, { data: [], next_cursor: null });
});

t.test('cards go through the sandbox provider: Luhn, expiry, CVC; default and activation; no card number is stored', async (t) => {
  const { api, admin } = await setup(t);
  const key = admin.key;
  const luhn = await api.request('POST', '/v1/billing/payment-methods', { key, body: { ...CARD, number: '4242 4242 4242 4241' } });
  t.equal(luhn.status, 400);
  t.equal(luhn.body.code, 'card_invalid_number');
  t.same(luhn.body.errors, [{ pointer: '/body/number', detail: 'The card number is not valid.' }]);
  const expired = await api.request('POST', '/v1/billing/payment-methods', { key, body: { ...CARD, exp_month: 1, exp_year: 2026 } });
  t.equal(expired.status, 400);
  t.equal(expired.body.code, 'card_expired_card');
  t.equal(expired.body.errors[0].pointer, '/body/exp_year');
  const cvc = await api.request('POST', '/v1/billing/payment-methods', { key, body: { ...CARD, number: '3782 822463 10005', cvc: '123' } });
  t.equal(cvc.status, 400, 'Amex needs a 4-digit CVC');
  t.equal(cvc.body.errors[0].pointer, '/body/cvc');
  const letters = await api.request('POST', '/v1/billing/payment-methods', { key, body: { ...CARD, number: '4242-abcd-4242-4242' } });
  t.equal(letters.status, 400);

  const visa = await api.request('POST', '/v1/billing/payment-methods', { key, body: CARD });
  t.equal(visa.status, 201);
  t.match(visa.body, { type: 'card', brand: 'visa', last4: '4242', exp_month: 12, exp_year: 2030, holder_name: 'Bob Smith', is_default: true });
  t.notOk('number' in visa.body || 'cvc' in visa.body || 'token' in visa.body);
  t.equal(visa.headers.get('location'), `/v1/billing/payment-methods/${visa.body.id}`);
  const mc = await api.request('POST', '/v1/billing/payment-methods', { key, body: { ...CARD, number: '5555555555554444', holder_name: 'B Smith' } });
  t.match(mc.body, { brand: 'mastercard', last4: '4444', is_default: false }, 'a second card is not the default until activated');
  const declining = await api.request('POST', '/v1/billing/payment-methods', { key, body: DECLINE });
  t.equal(declining.status, 201, 'declining test cards tokenize; they fail when charged');

  const activated = await api.request('POST', `/v1/billing/payment-methods/${mc.body.id}/activate`, { key });
  t.equal(activated.status, 200);
  t.equal(activated.body.is_default, true);
  const list = await api.request('GET', '/v1/billing/payment-methods', { key });
  t.same(list.body.data.map((m: { last4: string; is_default: boolean }) => [m.last4, m.is_default]), [['0002', false], ['4444', true], ['4242', false]]);
  const page = await api.request('GET', '/v1/billing/payment-methods?limit=2', { key });
  t.equal(page.body.data.length, 2);
  const next = await api.request('GET', `/v1/billing/payment-methods?limit=2&cursor=${page.body.next_cursor}`, { key });
  t.same(next.body.data.map((m: { last4: string }) => m.last4), ['4242']);

  t.equal((await api.request('DELETE', `/v1/billing/payment-methods/${mc.body.id}`, { key })).status, 204);
  const after = await api.request('GET', '/v1/billing/payment-methods', { key });
  t.same(after.body.data.map((m: { last4: string; is_default: boolean }) => [m.last4, m.is_default]), [['0002', true], ['4242', false]],
    'deleting the default promotes the newest other card');
  t.equal((await api.request('GET', `/v1/billing/payment-methods/${mc.body.id}`, { key })).status, 404);

  // Grep the whole database, every schema (pg-boss job payloads included): no column of any table
  // holds a card number (or a CVC next to it). A query that fails fails the test: a scan that
  // silently skips a table proves nothing.
  const columns = await api.database.sql<{ table_schema: string; table_name: string; column_name: string; data_type: string }[]>`
    select c.table_schema, c.table_name, c.column_name, c.data_type from information_schema.columns c
    join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name and t.table_type = 'BASE TABLE'
    where c.table_schema not in ('pg_catalog', 'information_schema') and c.table_schema not like 'pg_toast%'
      and c.data_type in ('text', 'character varying', 'character', 'jsonb', 'json', 'bytea', 'ARRAY')`;
  const scanned = new Set(columns.map((c) => `${c.table_schema}.${c.table_name}.${c.column_name}`));
  t.ok(scanned.has('public.payment_methods.provider_token'), 'the application tables are scanned');
  t.ok(scanned.has('pgboss.job.data'), 'the job queue\'s payloads are scanned');
  const needles = ['4242424242424242', '4242 4242 4242 4242', '5555555555554444', '4000000000000002', '4000 0000 0000 0002', '3782 822463 10005'];
  let hits = 0;
  for (const c of columns) {
    // bytea as text is hex: look for the needle's bytes instead.
    const where = c.data_type === 'bytea' ? `position(convert_to($1, 'UTF8') in "${c.column_name}") > 0` : `"${c.column_name}"::text like '%' || $1 || '%'`;
    for (const needle of needles) {
      const [row] = await api.database.sql.unsafe(`select count(*)::int as n from "${c.table_schema}"."${c.table_name}" where ${where}`, [needle]) as { n: number }[];
      if (row!.n > 0) t.fail(`${c.table_schema}.${c.table_name}.${c.column_name} holds ${needle}`);
      hits += row!.n;
    }
  }
  t.equal(hits, 0, 'no card number anywhere in the database');
  const [stored] = await api.database.sql`select provider, provider_token, brand, last4, exp_month, exp_year from payment_methods where id = ${visa.body.id}`;
  t.match(stored, { provider: 'sandbox', provider_token: /^tok_sbx_[0-9a-f]{24}_ok$/, brand: 'visa', last4: '4242', exp_month: 12, exp_year: 2030 });
});

t.test('tenant isolation: another account gets 404 for every billing id', async (t) => {
  const { api, admin } = await setup(t);
  await api.request('PUT', '/v1/billing/details', { key: admin.key, body: DETAILS });
  const card = await api.request('POST', '/v1/billing/payment-methods', { key: admin.key, body: DECLINE });
  await api.request('POST', '/v1/billing/subscription', { key: admin.key, body: { plan: 'monthly' } });
  api.clock.advance(14 * DAY + 1000);
  await runBillingCycle(api.deps);
  api.clock.advance(31 * DAY);
  await runBillingCycle(api.deps);
  const invoice = (await api.request('GET', '/v1/billing/invoices', { key: admin.key })).body.data[0];
  const payment = (await api.request('GET', '/v1/billing/payments', { key: admin.key })).body.data[0];
  const other = await api.signUp();
  await api.request('PUT', '/v1/billing/details', { key: other.key, body: { ...DETAILS, email: 'someone@else.example' } });
  await api.request('POST', '/v1/billing/payment-methods', { key: other.key, body: CARD });
  t.ok(invoice && payment);
  for (const [method, path] of [
    ['GET', `/v1/billing/invoices/${invoice.id}`], ['GET', `/v1/billing/invoices/${invoice.id}/pdf`], ['POST', `/v1/billing/invoices/${invoice.id}/email`],
    ['POST', `/v1/billing/invoices/${invoice.id}/pay`], ['GET', `/v1/billing/payments/${payment.id}`], ['GET', `/v1/billing/payment-methods/${card.body.id}`],
    ['POST', `/v1/billing/payment-methods/${card.body.id}/activate`], ['DELETE', `/v1/billing/payment-methods/${card.body.id}`],
  ] as const) {
    const res = await api.request(method, path, { key: other.key });
    t.equal(res.status, 404, `${method} ${path}`);
  }
  for (const path of ['/v1/billing/invoices', '/v1/billing/payments', '/v1/billing/messages']) {
    t.same((await api.request('GET', path, { key: other.key })).body.data, [], `${path} of another account is empty`);
  }
  t.same((await api.request('GET', '/v1/billing/payment-methods', { key: other.key })).body.data.map((m: { last4: string }) => m.last4), ['4242']);
  t.equal((await api.request('GET', '/v1/billing/details', { key: other.key })).body.email, 'someone@else.example');
  t.equal((await api.request('GET', '/v1/billing/details', { key: admin.key })).body.email, 'bob.smith@pizza.example');
  t.match((await api.request('GET', '/v1/billing/status', { key: other.key })).body, { account_state: 'trial', amount_due: 0, unpaid_invoices: [], default_payment_method: { last4: '4242' } });
  t.equal((await api.request('GET', `/v1/billing/payment-methods/${card.body.id}`, { key: admin.key })).status, 200, 'still there for its owner');
  const malformed = await api.request('GET', '/v1/billing/invoices/inv_123', { key: admin.key });
  t.equal(malformed.status, 400);
});

t.test('COFFER_BILLING_* configuration: overrides, one-line errors; prices and periods', async (t) => {
  const { loadConfig, ConfigError } = await import('../../api/config.ts');
  const { priceLines, addMonths, formatMoney } = await import('../../api/resources/billing/plans.ts');
  const billing = loadConfig({
    COFFER_BILLING_CURRENCY: 'eur', COFFER_BILLING_ENTITY_MONTHLY_PRICE: '250', COFFER_BILLING_STORAGE_GB_MONTHLY_PRICE: '4',
    COFFER_BILLING_ANNUAL_DISCOUNT_PERCENT: '15', COFFER_BILLING_RETRY_DAYS: '2, 5', COFFER_BILLING_SELLER_NAME: 'Coffer GmbH',
  }).billing!;
  t.match(billing, { currency: 'EUR', entityMonthlyPrice: 250, storageGbMonthlyPrice: 4, annualDiscountPercent: 15, retryDays: [2, 5], seller: { name: 'Coffer GmbH' } });
  t.same(priceLines(billing, 'annual', { entities: 3, storedBytes: 1_500_000_001 }).map((l) => [l.quantity, l.billableQuantity, l.unitPrice, l.total]), [
    [3, 3, 2550, 7650], [1.5, 2, 41, 82],
  ], 'annual = 12 × monthly less 15 %, rounded to the cent; GB rounded up');
  t.equal(formatMoney(7650, 'EUR'), '€76.50');
  t.equal(formatMoney(1234, 'JPY'), '¥1,234', 'currencies without minor units');
  t.equal(addMonths(new Date('2026-01-31T10:00:00Z'), 1).toISOString(), '2026-02-28T10:00:00.000Z');
  t.equal(addMonths(new Date('2026-03-16T09:00:00Z'), 12).toISOString(), '2027-03-16T09:00:00.000Z');
  const bad: [Record<string, string>, string][] = [
    [{ COFFER_BILLING_CURRENCY: 'DOLLARS' }, 'COFFER_BILLING_CURRENCY: must be an ISO 4217 currency code, got "DOLLARS"'],
    [{ COFFER_BILLING_ENTITY_MONTHLY_PRICE: '2.50' }, 'COFFER_BILLING_ENTITY_MONTHLY_PRICE: must be a whole number, got "2.50"'],
    [{ COFFER_BILLING_ANNUAL_DISCOUNT_PERCENT: '95' }, 'COFFER_BILLING_ANNUAL_DISCOUNT_PERCENT: must be between 0 and 90, got 95'],
    [{ COFFER_BILLING_RETRY_DAYS: '3,1' }, 'COFFER_BILLING_RETRY_DAYS: must be increasing, got "3,1"'],
    [{ COFFER_BILLING_RETRY_DAYS: '1,x' }, 'COFFER_BILLING_RETRY_DAYS: must be comma-separated whole numbers, got "1,x"'],
    [{ COFFER_BILLING_PROVIDER: 'stripe' }, 'COFFER_BILLING_PROVIDER: unknown payment provider "stripe" (available: sandbox)'],
  ];
  for (const [env, message] of bad) {
    const err = (() => { try { loadConfig(env); return null; } catch (e) { return e; } })();
    t.ok(err instanceof ConfigError, Object.keys(env)[0]);
    t.equal((err as Error).message, message);
    t.notOk((err as Error).message.includes('\n'), 'one line');
  }
});
