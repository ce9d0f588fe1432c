import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../deps.ts';
import { requireCtx } from '../../context.ts';
import { ref } from '../../schemas/common.ts';
import { Session, SessionCreate, SessionInfo, SessionList, SessionListQuery } from './schemas.ts';
import { pageRequest } from '../../pagination.ts';
import { IdParam } from '../../schemas/common.ts';
import * as service from './service.ts';

const tags = ['sessions'];

export default (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post('/v1/sessions', {
      config: { public: true, throttle: 'sign_in', audit: ['sign_in', 'sign_in_failed'] },
      schema: {
        operationId: 'signIn', tags, summary: 'Sign in: start a session',
        description: [
          'Answers a session token valid 12 hours, used as `Authorization: Bearer <token>` like an API key.',
          'Failures are generic (401 `invalid_credentials`). After 5 failures for an email within 15 minutes the email is locked: 429 `login_locked` with Retry-After (15 minutes, doubling with each further lockout).',
          'Users with 2FA send `totp_code` (401 `totp_required` without it); when the account enforces 2FA, users without it get 403 `two_factor_setup_required`.',
          'An expired password answers 403 `password_expired` with a `change_token` for POST /v1/password-reset/complete.',
          'From an address outside an enabled IP allowlist: 403 `access_denied`.',
          'When the account signs in with SAML (PUT /v1/security/saml), a correct password answers 403 `saml_required`: start at GET /v1/saml/{account_id}/login.',
        ].join(' '),
        body: ref(SessionCreate), response: { 201: ref(Session) },
      },
    }, async (request, reply) => {
      const session = await service.signIn(deps, request.body, { ip: request.ip, userAgent: request.headers['user-agent'] });
      return reply.code(201).send(session);
    });

    app.delete('/v1/sessions/current', {
      config: { ownUser: true, allowWhilePendingDeletion: true, audit: 'sign_out' },
      schema: {
        operationId: 'signOut', tags, summary: 'Sign out: end the current session',
        description: 'The session token stops working at once. Only for requests authenticated with a session token.',
        response: { 204: { type: 'null' } },
      },
    }, async (request, reply) => {
      await service.signOut(deps, requireCtx(request.ctx));
      return reply.code(204).send(null);
    });

    app.get('/v1/sessions', {
      config: { ownUser: true },
      schema: {
        operationId: 'listSessions', tags, summary: 'List your sessions',
        description: 'Where and when you are signed in; tokens are never shown again.',
        querystring: SessionListQuery, response: { 200: ref(SessionList) },
      },
    }, async (request) => service.listSessions(deps, requireCtx(request.ctx), pageRequest(request.query), request.query.state));

    app.delete('/v1/sessions/:id', {
      config: { ownUser: true, audit: 'sign_out' },
      schema: {
        operationId: 'revokeSession', tags, summary: 'End one of your sessions',
        description: 'The session token stops working at once. Ending an ended session returns it unchanged.',
        params: IdParam('ses'), response: { 200: ref(SessionInfo) },
      },
    }, async (request) => service.revokeSession(deps, requireCtx(request.ctx), request.params.id));
  };
