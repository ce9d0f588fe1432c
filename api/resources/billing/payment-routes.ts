import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../deps.ts';
import { requireCtx } from '../../context.ts';
import { expectedVersion, setEtag } from '../../etag.ts';
import { IdParam, ref } from '../../schemas/common.ts';
import { InvoicePayment } from './schemas.ts';
import { ExternalPaymentCreate, PaymentSettings, PaymentSettingsUpdate } from './payment-schemas.ts';
import * as service from './payment-settings.ts';

const tags = ['billing'];

export default (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get('/v1/billing/payment-settings', {
      config: { permission: 'billing:manage' },
      schema: { operationId: 'getPaymentSettings', tags, summary: 'Automatic card payment and the payment day', response: { 200: ref(PaymentSettings) } },
    }, async (request, reply) => {
      const { settings, version } = await service.getPaymentSettings(deps, requireCtx(request.ctx));
      setEtag(reply, version);
      return settings;
    });

    app.patch('/v1/billing/payment-settings', {
      config: { permission: 'billing:manage', ifMatch: true, audit: 'payment_settings_changed' },
      schema: {
        operationId: 'updatePaymentSettings', tags, summary: 'Turn automatic card payment on or off; set the payment day',
        description: [
          'Applies to monthly invoices issued from now on. `auto_pay: false`: invoices are emailed and wait for payment by bank transfer or PayPal (or POST /v1/billing/invoices/{id}/pay with a card);',
          '`payment_day`: the day of the month invoices are charged (automatic payment) or due (the due date is never earlier than the monthly terms).',
          'GET /v1/billing/status forecasts the next payment\'s date and way from them. Accepts If-Match. Audited.',
        ].join(' '),
        body: ref(PaymentSettingsUpdate), response: { 200: ref(PaymentSettings) },
      },
    }, async (request, reply) => {
      const { settings, version } = await service.updatePaymentSettings(deps, requireCtx(request.ctx), request.body, expectedVersion(request));
      setEtag(reply, version);
      return settings;
    });

    app.post('/v1/billing/invoices/:id/payments', {
      config: { permission: 'billing:manage', allowWhilePendingDeletion: true, audit: 'payment_recorded' },
      schema: {
        operationId: 'recordInvoicePayment', tags, summary: 'Record a bank transfer or PayPal payment of an invoice (sandbox)',
        description: [
          'With the sandbox provider, an administrator records money that arrived outside the card (403 `administrator_required` for others; 409 `sandbox_only` with a real provider, whose notifications record it).',
          'The amount must be the invoice total (422 `amount_mismatch`); the invoice becomes paid, its messages are resolved, a past-due account is active again, and the receipt is emailed.',
          '409 `invoice_paid` / `invoice_void`. Audited.',
        ].join(' '),
        params: IdParam('inv'), body: ref(ExternalPaymentCreate), response: { 201: ref(InvoicePayment) },
      },
    }, async (request, reply) => reply.code(201).send(await service.recordExternalPayment(deps, requireCtx(request.ctx), request.params.id, request.body)));
  };
