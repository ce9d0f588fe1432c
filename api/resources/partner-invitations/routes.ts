import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../deps.ts';
import { requireCtx } from '../../context.ts';
import { pageRequest } from '../../pagination.ts';
import { IdParam, ref } from '../../schemas/common.ts';
import { AccountPartner } from '../accounts/schemas.ts';
import { PartnerInvitation, PartnerInvitationCreate, PartnerInvitationList, PartnerInvitationListQuery } from './schemas.ts';
import * as service from './service.ts';

const tags = ['customers'];
const Params = IdParam('pinv');
const ADMIN_ONLY = 'Only an administrator of this account, in its own right: 403 `administrator_required` for anyone else, including a partner acting for the account.';

export default (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post('/v1/partner-invitations', {
      config: { permission: 'customers:manage', audit: 'partner_invited' },
      schema: {
        operationId: 'invitePartnerCustomer', tags, summary: 'Invite an existing account to become a customer',
        description: 'Give the account\'s id or one of its administrators\' email; its administrators are emailed and one of them may accept within 14 days. An account that does not exist or cannot be invited is 404 `account_not_found`; 409 `already_customer` when it is yours already. Only in a partner account (403 `not_a_partner`).',
        body: ref(PartnerInvitationCreate), response: { 201: ref(PartnerInvitation) },
      },
    }, async (request, reply) => reply.code(201).send(await service.invite(deps, requireCtx(request.ctx), request.body)));

    app.get('/v1/partner-invitations', {
      config: { permission: 'customers:read' },
      schema: {
        operationId: 'listPartnerInvitations', tags, summary: 'List the invitations this partner sent',
        querystring: PartnerInvitationListQuery, response: { 200: ref(PartnerInvitationList) },
      },
    }, async (request) => service.listSent(deps, requireCtx(request.ctx), pageRequest(request.query), request.query.state));

    app.delete('/v1/partner-invitations/:id', {
      config: { permission: 'customers:manage', audit: 'partner_invitation_cancelled' },
      schema: {
        operationId: 'cancelPartnerInvitation', tags, summary: 'Cancel a pending invitation',
        description: '409 `invitation_not_pending` once it was decided.',
        params: Params, response: { 200: ref(PartnerInvitation) },
      },
    }, async (request) => service.cancel(deps, requireCtx(request.ctx), request.params.id));

    app.get('/v1/account/partner-invitations', {
      config: { permission: 'account:manage' },
      schema: {
        operationId: 'listReceivedPartnerInvitations', tags: ['accounts'], summary: 'List partners\' invitations to manage this account',
        description: ADMIN_ONLY, querystring: PartnerInvitationListQuery, response: { 200: ref(PartnerInvitationList) },
      },
    }, async (request) => service.listReceived(deps, requireCtx(request.ctx), pageRequest(request.query), request.query.state));

    app.post('/v1/account/partner-invitations/:id/accept', {
      config: { permission: 'account:manage', audit: 'partner_invitation_accepted' },
      schema: {
        operationId: 'acceptPartnerInvitation', tags: ['accounts'], summary: 'Let a partner manage this account',
        description: `The partner may then act in this account (Coffer-Account header) with its users' permissions, until DELETE /v1/account/partner. 409 \`already_managed\` while another partner manages it; 410 \`invitation_expired\`. ${ADMIN_ONLY}`,
        params: Params, response: { 200: ref(PartnerInvitation) },
      },
    }, async (request) => service.accept(deps, requireCtx(request.ctx), request.params.id));

    app.post('/v1/account/partner-invitations/:id/decline', {
      config: { permission: 'account:manage', audit: 'partner_invitation_declined' },
      schema: {
        operationId: 'declinePartnerInvitation', tags: ['accounts'], summary: 'Decline a partner\'s invitation',
        description: ADMIN_ONLY, params: Params, response: { 200: ref(PartnerInvitation) },
      },
    }, async (request) => service.decline(deps, requireCtx(request.ctx), request.params.id));

    app.delete('/v1/account/partner', {
      config: { permission: 'account:manage', audit: 'partner_access_revoked' },
      schema: {
        operationId: 'revokePartner', tags: ['accounts'], summary: 'Withdraw the partner\'s access to this account',
        description: `From the next request on, the partner's requests for this account and the keys it minted here are refused (403 \`access_revoked\`). The link stays visible in GET /v1/account with \`revoked_at\`; the partner can be invited again. 404 when no partner has access. ${ADMIN_ONLY}`,
        response: { 200: ref(AccountPartner) },
      },
    }, async (request) => service.revokePartner(deps, requireCtx(request.ctx)));
  };
