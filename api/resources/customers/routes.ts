import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../deps.ts';
import { requireCtx } from '../../context.ts';
import { pageRequest } from '../../pagination.ts';
import { expectedVersion, setEtag } from '../../etag.ts';
import { IdParam, ref } from '../../schemas/common.ts';
import { ApiKeyCreate, CreatedApiKey } from '../api-keys/schemas.ts';
import { Customer, CustomerCreate, CustomerList, CustomerListQuery, CustomerRemovalQuery, CustomerUpdate } from './schemas.ts';
import * as service from './service.ts';

const tags = ['customers'];
const Params = IdParam('acct');
const PARTNER_ONLY = 'Only in a partner account, without the Coffer-Account header (403 `not_a_partner`). A partner user limited to some customers sees only those; any other id is 404.';

function wantsCsv(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((part) => part.trim().split(';')[0]!.trim().toLowerCase() === 'text/csv');
}

export default (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post('/v1/customers', {
      config: { permission: 'customers:manage', audit: ['customer_created', 'user_invited'] },
      schema: {
        operationId: 'createCustomer', tags, summary: 'Create a customer account',
        description: `A new account in its trial, managed by this partner. With \`admin_email\` that person is invited as its administrator (409 \`email_taken\` when the address has a user already: invite that account instead, POST /v1/partner-invitations). Act in it with \`Coffer-Account: <id>\`. ${PARTNER_ONLY}`,
        body: ref(CustomerCreate), response: { 201: ref(Customer) },
      },
    }, async (request, reply) => {
      const customer = await service.createCustomer(deps, requireCtx(request.ctx), request.body);
      return reply.code(201).header('location', `/v1/customers/${customer.id}`).send(customer);
    });

    app.get('/v1/customers', {
      config: { permission: 'customers:read' },
      schema: {
        operationId: 'listCustomers', tags, summary: 'List customers',
        description: `Newest first; filters \`name\` (substring), \`region\`, \`access\`. With \`Accept: text/csv\` every matching customer (up to 100,000, ignoring \`limit\` and \`cursor\`) as a CSV file. ${PARTNER_ONLY}`,
        querystring: CustomerListQuery,
        response: {
          200: {
            content: {
              'application/json': { schema: ref(CustomerList) },
              'text/csv': { schema: Type.String({ description: `Columns: ${service.CSV_COLUMNS.join(', ')}.` }) },
            },
          },
        },
      },
    }, async (request, reply) => {
      const ctx = requireCtx(request.ctx);
      const { name, region, access } = request.query;
      const filter = { name, region, access };
      if (wantsCsv(request.headers.accept)) {
        const csv = await service.exportCustomersCsv(deps, ctx, filter);
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', 'attachment; filename="customers.csv"')
          .serializer((payload: unknown) => payload as string)
          .send(csv as never);
      }
      return reply.type('application/json; charset=utf-8').send(await service.listCustomers(deps, ctx, pageRequest(request.query), filter));
    });

    app.get('/v1/customers/:id', {
      config: { permission: 'customers:read' },
      schema: { operationId: 'getCustomer', tags, summary: 'Get a customer', description: PARTNER_ONLY, params: Params, response: { 200: ref(Customer) } },
    }, async (request, reply) => {
      const { customer, version } = await service.getCustomer(deps, requireCtx(request.ctx), request.params.id);
      setEtag(reply, version);
      return customer;
    });

    app.patch('/v1/customers/:id', {
      config: { permission: 'customers:manage', ifMatch: true, audit: 'customer_updated' },
      schema: {
        operationId: 'updateCustomer', tags, summary: 'Rename a customer or change who pays for it',
        description: `403 \`access_revoked\` when the customer withdrew the partner's access. ${PARTNER_ONLY}`,
        params: Params, body: ref(CustomerUpdate), response: { 200: ref(Customer) },
      },
    }, async (request, reply) => {
      const { customer, version } = await service.updateCustomer(deps, requireCtx(request.ctx), request.params.id, request.body, expectedVersion(request));
      setEtag(reply, version);
      return customer;
    });

    app.delete('/v1/customers/:id', {
      config: { permission: 'customers:manage', audit: 'account_removal_requested' },
      schema: {
        operationId: 'removeCustomer', tags, summary: 'Remove a customer account',
        description: `As POST /v1/account/removal: needs \`approve_data_removal=true\` (400 \`approval_required\`); the account is read-only for 7 days (its administrator may undo the removal), then erased. ${PARTNER_ONLY}`,
        params: Params, querystring: CustomerRemovalQuery, response: { 202: ref(Customer) },
      },
    }, async (request, reply) => reply.code(202).send(await service.removeCustomer(deps, requireCtx(request.ctx), request.params.id, request.query.approve_data_removal === true)));

    app.post('/v1/customers/:id/api-keys', {
      config: { permission: 'customers:manage', audit: 'api_key_created' },
      schema: {
        operationId: 'createCustomerApiKey', tags, summary: 'Mint an API key in a customer account',
        description: `A key that lives in the customer's account (no Coffer-Account header needed), held by the calling partner user: it works while the partner may act for the customer, with at most the caller's permissions (also needs \`api_keys:manage\`). The customer's administrators see and may revoke it (GET /v1/api-keys); so may the partner, acting for the customer. ${PARTNER_ONLY}`,
        params: Params, body: ref(ApiKeyCreate), response: { 201: ref(CreatedApiKey) },
      },
    }, async (request, reply) => reply.code(201).send(await service.createCustomerApiKey(deps, requireCtx(request.ctx), request.params.id, request.body)));
  };
