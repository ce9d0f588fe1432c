import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../deps.ts';
import { requireCtx } from '../../context.ts';
import { ref } from '../../schemas/common.ts';
import { TwoFactorCode, TwoFactorSetup, TwoFactorStatus } from './schemas.ts';
import * as service from './service.ts';

const tags = ['me'];

export default (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get('/v1/me/2fa', {
      config: { ownUser: true },
      schema: { operationId: 'getTwoFactor', tags, summary: 'Your two-factor authentication state', response: { 200: ref(TwoFactorStatus) } },
    }, async (request) => service.getStatus(deps, requireCtx(request.ctx)));

    app.post('/v1/me/2fa', {
      config: { ownUser: true },
      schema: {
        operationId: 'setUpTwoFactor', tags, summary: 'Set up two-factor authentication (TOTP)',
        description: 'Returns a new secret, its otpauth:// URI and a QR code; the state is `pending` until POST /v1/me/2fa/confirm with a code from the app.',
        response: { 201: ref(TwoFactorSetup) },
      },
    }, async (request, reply) => reply.code(201).send(await service.setUp(deps, requireCtx(request.ctx))));

    app.post('/v1/me/2fa/confirm', {
      config: { ownUser: true, audit: '2fa_enabled' },
      schema: {
        operationId: 'confirmTwoFactor', tags, summary: 'Enable two-factor authentication with a first code',
        body: ref(TwoFactorCode), response: { 200: ref(TwoFactorStatus) },
      },
    }, async (request) => service.confirm(deps, requireCtx(request.ctx), request.body.code));

    app.delete('/v1/me/2fa', {
      config: { ownUser: true, audit: '2fa_disabled' },
      schema: {
        operationId: 'disableTwoFactor', tags, summary: 'Disable two-factor authentication',
        description: 'Needs a current code. Refused (409 `two_factor_enforced`) while the account enforces 2FA.',
        body: ref(TwoFactorCode), response: { 200: ref(TwoFactorStatus) },
      },
    }, async (request) => service.disable(deps, requireCtx(request.ctx), request.body.code));
  };
