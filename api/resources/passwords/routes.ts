import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../deps.ts';
import { requireCtx } from '../../context.ts';
import { ref } from '../../schemas/common.ts';
import { TokenInfo, TokenQuery } from '../users/schemas.ts';
import { PasswordChange, PasswordResetAccepted, PasswordResetCompletion, PasswordResetRequest } from './schemas.ts';
import * as service from './service.ts';

const tags = ['passwords'];

export default (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post('/v1/password-reset', {
      config: { public: true, throttle: 'password_reset', audit: 'password_reset_requested' },
      schema: {
        operationId: 'requestPasswordReset', tags, summary: 'Ask for a password reset link',
        description: 'Always 202, whether or not the email belongs to a user. An active user gets an email with a link valid 1 hour.',
        body: ref(PasswordResetRequest), response: { 202: ref(PasswordResetAccepted) },
      },
    }, async (request, reply) => {
      service.requestReset(deps, request.body.email, { ip: request.ip, userAgent: request.headers['user-agent'] });
      return reply.code(202).send({ status: 'accepted' as const, detail: 'If this email belongs to a user, a reset link is on its way.' });
    });

    app.get('/v1/password-reset/complete', {
      config: { public: true },
      schema: {
        operationId: 'inspectPasswordReset', tags, summary: 'Check a password reset link',
        description: 'The link in the reset email. Answers what the token is for without using it; 410 when it has expired.',
        querystring: TokenQuery, response: { 200: ref(TokenInfo) },
      },
    }, async (request) => service.inspectReset(deps, request.query.token));

    app.post('/v1/password-reset/complete', {
      config: { public: true, audit: ['password_reset', 'password_changed'] },
      schema: {
        operationId: 'completePasswordReset', tags, summary: 'Set a new password with a reset link or change token',
        description: 'Uses the token once. Every session of the user ends; sign in again with the new password. Every API key of the user is revoked too unless `revoke_api_keys` is false.',
        body: ref(PasswordResetCompletion), response: { 204: { type: 'null' } },
      },
    }, async (request, reply) => {
      await service.completeReset(deps, request.body, { ip: request.ip, userAgent: request.headers['user-agent'] });
      return reply.code(204).send(null);
    });

    app.post('/v1/me/password', {
      config: { ownUser: true, audit: 'password_changed' },
      schema: {
        operationId: 'changePassword', tags: ['me'], summary: 'Change your password',
        description: 'Needs the current password. Your other sessions end.',
        body: ref(PasswordChange), response: { 204: { type: 'null' } },
      },
    }, async (request, reply) => {
      await service.changeOwnPassword(deps, requireCtx(request.ctx), request.body);
      return reply.code(204).send(null);
    });
  };
