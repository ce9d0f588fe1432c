import { Type } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import type { AppDeps } from '../../deps.ts';
import { requireCtx } from '../../context.ts';
import { expectedVersion, setEtag } from '../../etag.ts';
import { pageRequest } from '../../pagination.ts';
import { IdParam, PageQuery, ref } from '../../schemas/common.ts';
import {
  BillingDetails, BillingDetailsInput, BillingMessageList, BillingMessageQuery, BillingPlans, BillingStatus, Invoice, InvoiceEmailed, InvoiceList,
  InvoiceListQuery, InvoicePayment, Payment, PaymentList, PaymentListQuery, PaymentMethod, PaymentMethodCreate, PaymentMethodList, Subscription,
  SubscriptionCreate, UsageList, UsageQuery,
} from './schemas.ts';
import { cancelSubscription, getPlans, getSubscription, subscribe } from './subscription-service.ts';
import { getDetails, putDetails } from './details-service.ts';
import { activatePaymentMethod, addPaymentMethod, deletePaymentMethod, getPaymentMethod, listPaymentMethods } from './payment-method-service.ts';
import { emailInvoice, getInvoice, getInvoicePdf, getInvoicePdfByToken, getPayment, listInvoices, listPayments, payInvoice } from './invoice-service.ts';
import { getStatus, listMessages, listUsage } from './status-service.ts';

const tags = ['billing'];
const manage = { permission: 'billing:manage' as const };
/** Writes that keep working while billing has scheduled the account's deletion: paying and subscribing take it back. */
const rescue = { permission: 'billing:manage' as const, allowWhilePendingDeletion: true };
const InvoiceParams = IdParam('inv');
const MethodParams = IdParam('pm');
const PaymentParams = IdParam('pay');
const Pdf = { 200: { description: 'The invoice as a PDF.', content: { 'application/pdf': { schema: Type.String({ format: 'binary' }) } } } };

function sendPdf(reply: FastifyReply, pdf: Buffer, filename: string, disposition: 'inline' | 'attachment' = 'inline') {
  return reply
    .type('application/pdf')
    .header('content-disposition', `${disposition}; filename="${filename}"`)
    .header('cache-control', 'private, no-store')
    .send(pdf as never);
}

export default (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get('/v1/billing/plans', {
      config: manage,
      schema: { operationId: 'getBillingPlans', tags, summary: 'Plans and prices', response: { 200: ref(BillingPlans) } },
    }, async () => getPlans(deps));

    // Subscription ------------------------------------------------------------------------------
    app.get('/v1/billing/subscription', {
      config: manage,
      schema: { operationId: 'getSubscription', tags, summary: 'Get the subscription', description: '404 while the account has never subscribed.', response: { 200: ref(Subscription) } },
    }, async (request, reply) => {
      const { subscription, version } = await getSubscription(deps, requireCtx(request.ctx));
      setEtag(reply, version);
      return subscription;
    });

    app.post('/v1/billing/subscription', {
      config: { ...rescue, audit: 'subscription_created' },
      schema: {
        operationId: 'subscribe', tags, summary: 'Subscribe (monthly or annual)',
        description: 'During the trial the subscription is scheduled and starts when the trial ends. Needs billing details; monthly also needs a card. '
          + 'Annual is invoiced now, in advance, payable within the annual terms, with the purchase-order number on the invoice.',
        body: ref(SubscriptionCreate), response: { 201: ref(Subscription) },
      },
    }, async (request, reply) => {
      const { subscription, version } = await subscribe(deps, requireCtx(request.ctx), request.body);
      setEtag(reply, version);
      return reply.code(201).header('location', '/v1/billing/subscription').send(subscription);
    });

    app.delete('/v1/billing/subscription', {
      config: { ...manage, ifMatch: true, audit: 'subscription_canceled' },
      schema: {
        operationId: 'cancelSubscription', tags, summary: 'Cancel the subscription',
        description: 'A scheduled subscription ends at once; an active one stops renewing and serves until the end of the paid period, after which backups are suspended.',
        response: { 200: ref(Subscription) },
      },
    }, async (request, reply) => {
      const { subscription, version } = await cancelSubscription(deps, requireCtx(request.ctx), expectedVersion(request));
      setEtag(reply, version);
      return subscription;
    });

    // Details -----------------------------------------------------------------------------------
    app.get('/v1/billing/details', {
      config: manage,
      schema: { operationId: 'getBillingDetails', tags, summary: 'Get the billing details', response: { 200: ref(BillingDetails) } },
    }, async (request, reply) => {
      const { details, version } = await getDetails(deps, requireCtx(request.ctx));
      setEtag(reply, version);
      return details;
    });

    app.put('/v1/billing/details', {
      config: { ...rescue, ifMatch: true, audit: 'billing_details_updated' },
      schema: {
        operationId: 'putBillingDetails', tags, summary: 'Set the billing details',
        description: 'Replaces every field. The company tax id is mandatory for Israel (country IL).',
        body: ref(BillingDetailsInput), response: { 200: ref(BillingDetails), 201: ref(BillingDetails) },
      },
    }, async (request, reply) => {
      const { details, version, created } = await putDetails(deps, requireCtx(request.ctx), request.body, expectedVersion(request));
      setEtag(reply, version);
      return reply.code(created ? 201 : 200).send(details);
    });

    // Payment methods ---------------------------------------------------------------------------
    app.post('/v1/billing/payment-methods', {
      config: { ...rescue, audit: 'payment_method_added' },
      schema: {
        operationId: 'addPaymentMethod', tags, summary: 'Add a card',
        description: 'The card number and CVC pass through to the payment provider; Coffer keeps its token, the brand, last four digits and expiry. The first card becomes the default.',
        body: ref(PaymentMethodCreate), response: { 201: ref(PaymentMethod) },
      },
    }, async (request, reply) => {
      const method = await addPaymentMethod(deps, requireCtx(request.ctx), request.body);
      return reply.code(201).header('location', `/v1/billing/payment-methods/${method.id}`).send(method);
    });

    app.get('/v1/billing/payment-methods', {
      config: manage,
      schema: { operationId: 'listPaymentMethods', tags, summary: 'List cards', querystring: Type.Object({ ...PageQuery }, { additionalProperties: false }), response: { 200: ref(PaymentMethodList) } },
    }, async (request) => listPaymentMethods(deps, requireCtx(request.ctx), pageRequest(request.query)));

    app.get('/v1/billing/payment-methods/:id', {
      config: manage,
      schema: { operationId: 'getPaymentMethod', tags, summary: 'Get a card', params: MethodParams, response: { 200: ref(PaymentMethod) } },
    }, async (request) => getPaymentMethod(deps, requireCtx(request.ctx), request.params.id));

    app.post('/v1/billing/payment-methods/:id/activate', {
      config: { ...rescue, audit: 'payment_method_activated' },
      schema: { operationId: 'activatePaymentMethod', tags, summary: 'Make a card the default', params: MethodParams, response: { 200: ref(PaymentMethod) } },
    }, async (request) => activatePaymentMethod(deps, requireCtx(request.ctx), request.params.id));

    app.delete('/v1/billing/payment-methods/:id', {
      config: { ...manage, audit: 'payment_method_deleted' },
      schema: {
        operationId: 'deletePaymentMethod', tags, summary: 'Delete a card', description: 'Deleting the default card makes the most recently added other card the default.',
        params: MethodParams, response: { 204: { type: 'null', description: 'Deleted' } },
      },
    }, async (request, reply) => {
      await deletePaymentMethod(deps, requireCtx(request.ctx), request.params.id);
      return reply.code(204).send(null);
    });

    // Usage, invoices, payments -----------------------------------------------------------------
    app.get('/v1/billing/usage', {
      config: manage,
      schema: { operationId: 'listBillingUsage', tags, summary: 'Daily metered usage', description: 'One row per day the metering job ran (at most 400).', querystring: UsageQuery, response: { 200: ref(UsageList) } },
    }, async (request) => listUsage(deps, requireCtx(request.ctx), request.query));

    app.get('/v1/billing/invoices', {
      config: manage,
      schema: { operationId: 'listInvoices', tags, summary: 'List invoices', querystring: InvoiceListQuery, response: { 200: ref(InvoiceList) } },
    }, async (request) => listInvoices(deps, requireCtx(request.ctx), pageRequest(request.query), { status: request.query.status }));

    app.get('/v1/billing/invoices/:id', {
      config: manage,
      schema: { operationId: 'getInvoice', tags, summary: 'Get an invoice', params: InvoiceParams, response: { 200: ref(Invoice) } },
    }, async (request, reply) => {
      const { invoice, version } = await getInvoice(deps, requireCtx(request.ctx), request.params.id);
      setEtag(reply, version);
      return invoice;
    });

    app.get('/v1/billing/invoices/:id/pdf', {
      config: manage,
      schema: { operationId: 'downloadInvoicePdf', tags, summary: 'Download an invoice as PDF', params: InvoiceParams, response: Pdf },
    }, async (request, reply) => {
      const { pdf, filename } = await getInvoicePdf(deps, requireCtx(request.ctx), request.params.id);
      return sendPdf(reply, pdf, filename);
    });

    app.post('/v1/billing/invoices/:id/email', {
      config: { ...manage, audit: 'invoice_emailed' },
      schema: {
        operationId: 'emailInvoice', tags, summary: 'Email an invoice to the billing email',
        description: 'The PDF is attached, or linked (a link that works for 30 days), as the billing details\' `invoice_delivery` says.',
        params: InvoiceParams, response: { 200: ref(InvoiceEmailed) },
      },
    }, async (request) => emailInvoice(deps, requireCtx(request.ctx), request.params.id));

    app.post('/v1/billing/invoices/:id/pay', {
      config: { ...rescue, audit: ['payment_succeeded', 'payment_failed'] },
      schema: {
        operationId: 'payInvoice', tags, summary: 'Pay an invoice with the default card',
        description: 'A declined charge is recorded (see payments) and answered with 402 and the decline code (card_declined, insufficient_funds, expired_card, processing_error).',
        params: InvoiceParams, response: { 200: ref(InvoicePayment) },
      },
    }, async (request) => payInvoice(deps, requireCtx(request.ctx), request.params.id));

    app.get('/v1/billing/invoice-document', {
      config: { public: true },
      schema: {
        operationId: 'downloadInvoiceByLink', tags, summary: 'Download an invoice through an emailed link',
        description: 'The link in an invoice email (invoice delivery `link`): the token is the credential and works for 30 days (then 410 `link_expired`).',
        querystring: Type.Object({ token: Type.String({ pattern: '^cfi_[A-Za-z0-9_-]{40,300}$' }) }, { additionalProperties: false }), response: Pdf,
      },
    }, async (request, reply) => {
      const { pdf, filename } = await getInvoicePdfByToken(deps, request.query.token);
      return sendPdf(reply, pdf, filename);
    });

    app.get('/v1/billing/payments', {
      config: manage,
      schema: { operationId: 'listPayments', tags, summary: 'Payment history (receipts and failed attempts)', querystring: PaymentListQuery, response: { 200: ref(PaymentList) } },
    }, async (request) => listPayments(deps, requireCtx(request.ctx), pageRequest(request.query), { status: request.query.status }));

    app.get('/v1/billing/payments/:id', {
      config: manage,
      schema: { operationId: 'getPayment', tags, summary: 'Get a payment (receipt)', params: PaymentParams, response: { 200: ref(Payment) } },
    }, async (request) => getPayment(deps, requireCtx(request.ctx), request.params.id));

    // Status and messages -----------------------------------------------------------------------
    app.get('/v1/billing/status', {
      config: manage,
      schema: {
        operationId: 'getBillingStatus', tags, summary: 'Billing status',
        description: 'Subscription, payment status, amount due, unpaid invoices, next renewal date and the forecast of the next payment.',
        response: { 200: ref(BillingStatus) },
      },
    }, async (request) => getStatus(deps, requireCtx(request.ctx)));

    app.get('/v1/billing/messages', {
      config: { permission: 'billing:notifications' },
      schema: {
        operationId: 'listBillingMessages', tags, summary: 'Billing notification messages',
        description: 'Payment due, payment overdue, payment failed, trial ended, account suspended: the banners the seed shows to users allowed to see them. '
          + 'Users without `billing:notifications` get 403 (the permission is granted per user, as the seed\'s "View billing notification messages"). '
          + 'Open messages only, unless `include_resolved`.',
        querystring: BillingMessageQuery, response: { 200: ref(BillingMessageList) },
      },
    }, async (request) => listMessages(deps, requireCtx(request.ctx), pageRequest(request.query), request.query.include_resolved ?? false));
  };
