import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../deps.ts';
import { requireCtx } from '../../context.ts';
import { ref } from '../../schemas/common.ts';
import { Account } from './schemas.ts';
import { AccountRemovalRequest, EmailChange, EmailChangeConfirm, EmailChangeRequest } from './lifecycle-schemas.ts';
import * as service from './lifecycle-service.ts';

const tags = ['accounts'];

/** A problem response this operation answers beyond the ones every route documents. */
const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: Type.Ref('Problem') } } });

export default (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get('/v1/account/email-change', {
      config: { permission: 'account:read' },
      schema: { operationId: 'getAccountEmailChange', tags, summary: 'Get the pending change of the account email', description: '404 when no change is pending.', response: { 200: ref(EmailChange), 404: problem('No email change is pending.') } },
    }, async (request) => service.getEmailChange(deps, requireCtx(request.ctx)));

    app.post('/v1/account/email-change', {
      config: { permission: 'account:manage', audit: 'settings_changed' },
      schema: {
        operationId: 'requestAccountEmailChange', tags, summary: 'Change the account email (confirmed by the new address)',
        description: 'Emails a confirmation link (24 hours) to the new address; the account keeps its current email until the link is used (POST /v1/account/email-change/confirm). A new request replaces a pending one. GET /v1/account shows `pending_email` meanwhile. 409 `email_unchanged` for the current address.',
        body: ref(EmailChangeRequest), response: { 202: ref(EmailChange) },
      },
    }, async (request, reply) => reply.code(202).send(await service.requestEmailChange(deps, requireCtx(request.ctx), request.body)));

    app.post('/v1/account/email-change/resend', {
      config: { permission: 'account:manage', audit: 'settings_changed' },
      schema: {
        operationId: 'resendAccountEmailChange', tags, summary: 'Resend the email-change confirmation',
        description: 'Sends a new link (valid 24 hours) to the pending address; the previous link stops working. 404 when no change is pending.',
        response: { 202: ref(EmailChange), 404: problem('No email change is pending.') },
      },
    }, async (request, reply) => reply.code(202).send(await service.resendEmailChange(deps, requireCtx(request.ctx))));

    app.delete('/v1/account/email-change', {
      config: { permission: 'account:manage', audit: 'settings_changed' },
      schema: { operationId: 'discardAccountEmailChange', tags, summary: 'Discard the pending email change', description: 'The emailed link stops working. 404 when no change is pending.', response: { 204: { type: 'null' }, 404: problem('No email change is pending.') } },
    }, async (request, reply) => {
      await service.discardEmailChange(deps, requireCtx(request.ctx));
      return reply.code(204).send(null);
    });

    app.post('/v1/account/email-change/confirm', {
      config: { public: true, audit: 'settings_changed' },
      schema: {
        operationId: 'confirmAccountEmailChange', tags, summary: 'Confirm the new account email with the emailed token',
        description: 'Public: the token is the proof. 400 `invalid_token` (unknown, used, or replaced by a resend), 410 `token_expired`, 409 `account_pending_deletion`. The previous address is told about the change.',
        body: ref(EmailChangeConfirm), response: { 200: ref(Account), 410: problem('`token_expired`: the link is older than 24 hours; resend.') },
      },
    }, async (request) => service.confirmEmailChange(deps, request.body));

    app.post('/v1/account/removal', {
      config: { permission: 'account:manage', audit: 'account_removal_requested' },
      schema: {
        operationId: 'removeAccount', tags, summary: 'Remove the account (7-day grace period, then everything is erased)',
        description: [
          'Needs `approve_data_removal: true` (400 `approval_required`). The account goes to `pending_deletion` with `purge_time` 7 days ahead:',
          'sign-in and reads keep working, every other write answers 409 `account_pending_deletion`, and DELETE /v1/account/removal undoes it until `purge_time`.',
          'Then the account, its users, keys, settings, audit log, backups (every stored pack) and its data key are erased for good. The administrators are emailed.',
        ].join(' '),
        body: ref(AccountRemovalRequest), response: { 202: ref(Account) },
      },
    }, async (request, reply) => reply.code(202).send(await service.requestRemoval(deps, requireCtx(request.ctx), request.body)));

    app.delete('/v1/account/removal', {
      config: { permission: 'account:manage', allowWhilePendingDeletion: true, audit: 'account_removal_undone' },
      schema: {
        operationId: 'undoAccountRemoval', tags, summary: 'Undo the removal of the account within its grace period',
        description: 'The account returns to the state it had. 409 `account_not_pending_deletion` when it is not being removed; 410 `grace_period_over` after `purge_time`.',
        response: {
          200: ref(Account),
          409: problem('`account_not_pending_deletion`: the account is not being removed.'),
          410: problem('`grace_period_over`: the account is being purged.'),
        },
      },
    }, async (request) => service.undoRemoval(deps, requireCtx(request.ctx)));
  };
