import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../deps.ts';
import { requireCtx } from '../../context.ts';
import { expectedVersion, setEtag } from '../../etag.ts';
import { pageRequest } from '../../pagination.ts';
import { IdParam, ref } from '../../schemas/common.ts';
import { ManagedUser, TokenInfo, TokenQuery, UserConfirmation, UserInvite, UserList, UserListQuery, UserUpdate } from './schemas.ts';
import * as service from './service.ts';

const tags = ['users'];
const Params = IdParam('usr');
/** The rule of api/resources/users/guard.ts, as every operation on another user states it. */
const GUARD = 'Only an administrator may act on an administrator (403 `administrator_required`), and only a caller holding every permission of a custom user on that user (403 `cannot_manage`); granted permissions must be held by the caller (403 `cannot_grant`).';

export default (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post('/v1/users', {
      config: { permission: 'users:manage', audit: 'user_invited' },
      schema: {
        operationId: 'inviteUser', tags, summary: 'Invite a user',
        description: 'Creates the user in state `invited` and emails them a confirmation link valid 24 hours. You can only grant permissions you hold (403 `cannot_grant`); only an administrator can invite an administrator.',
        body: ref(UserInvite), response: { 201: ref(ManagedUser) },
      },
    }, async (request, reply) => {
      const user = await service.inviteUser(deps, requireCtx(request.ctx), request.body);
      setEtag(reply, 1);
      return reply.code(201).header('location', `/v1/users/${user.id}`).send(user);
    });

    app.get('/v1/users', {
      config: { permission: 'users:manage' },
      schema: { operationId: 'listUsers', tags, summary: 'List users', querystring: UserListQuery, response: { 200: ref(UserList) } },
    }, async (request) => {
      const { state, role } = request.query;
      return service.listUsers(deps, requireCtx(request.ctx), pageRequest(request.query), { state, role });
    });

    app.get('/v1/users/confirm', {
      config: { public: true },
      schema: {
        operationId: 'inspectUserConfirmation', tags, summary: 'Check an email confirmation link',
        description: 'The link in the invitation email. Answers what the token is for without using it; 410 when it has expired.',
        querystring: TokenQuery, response: { 200: ref(TokenInfo) },
      },
    }, async (request) => service.inspectConfirmation(deps, request.query.token));

    app.post('/v1/users/confirm', {
      config: { public: true, audit: 'user_confirmed' },
      schema: {
        operationId: 'confirmUser', tags, summary: 'Confirm an invitation and set a password',
        description: 'Uses the token from the confirmation email (once, within 24 hours); the user becomes active.',
        body: ref(UserConfirmation), response: { 200: ref(ManagedUser) },
      },
    }, async (request) => service.confirmUser(deps, request.body, { ip: request.ip, userAgent: request.headers['user-agent'] }));

    app.get('/v1/users/:id', {
      config: { permission: 'users:manage' },
      schema: { operationId: 'getUser', tags, summary: 'Get a user', params: Params, response: { 200: ref(ManagedUser) } },
    }, async (request, reply) => {
      const { user, version } = await service.getUser(deps, requireCtx(request.ctx), request.params.id);
      setEtag(reply, version);
      return user;
    });

    app.patch('/v1/users/:id', {
      config: { permission: 'users:manage', ifMatch: true, audit: ['user_updated', 'permissions_changed'] },
      schema: {
        operationId: 'updateUser', tags, summary: 'Change a user\'s name, role, permissions or services',
        description: 'The last active administrator cannot be demoted (409 `last_administrator`). ' + GUARD,
        params: Params, body: ref(UserUpdate), response: { 200: ref(ManagedUser) },
      },
    }, async (request, reply) => {
      const { user, version } = await service.updateUser(deps, requireCtx(request.ctx), request.params.id, request.body, expectedVersion(request));
      setEtag(reply, version);
      return user;
    });

    app.post('/v1/users/:id/deactivate', {
      config: { permission: 'users:manage', ifMatch: true, audit: 'user_deactivated' },
      schema: {
        operationId: 'deactivateUser', tags, summary: 'Deactivate a user',
        description: 'The user\'s API keys and sessions are revoked at once, for good. The last active administrator cannot be deactivated. ' + GUARD,
        params: Params, response: { 200: ref(ManagedUser) },
      },
    }, async (request, reply) => {
      const { user, version } = await service.deactivateUser(deps, requireCtx(request.ctx), request.params.id, expectedVersion(request));
      setEtag(reply, version);
      return user;
    });

    app.post('/v1/users/:id/reactivate', {
      config: { permission: 'users:manage', ifMatch: true, audit: 'user_reactivated' },
      schema: {
        operationId: 'reactivateUser', tags, summary: 'Reactivate a user',
        description: 'The user can sign in again. API keys and sessions revoked at deactivation stay revoked: the user creates new keys. ' + GUARD,
        params: Params, response: { 200: ref(ManagedUser) },
      },
    }, async (request, reply) => {
      const { user, version } = await service.reactivateUser(deps, requireCtx(request.ctx), request.params.id, expectedVersion(request));
      setEtag(reply, version);
      return user;
    });

    app.post('/v1/users/:id/resend-confirmation', {
      config: { permission: 'users:manage' },
      schema: {
        operationId: 'resendUserConfirmation', tags, summary: 'Resend the email confirmation',
        description: 'A new link valid 24 hours; earlier links stop working. Only for users still `invited`.',
        params: Params, response: { 202: ref(ManagedUser) },
      },
    }, async (request, reply) => reply.code(202).send(await service.resendConfirmation(deps, requireCtx(request.ctx), request.params.id)));

    app.delete('/v1/users/:id', {
      config: { permission: 'users:manage', ifMatch: true, audit: 'user_deleted' },
      schema: {
        operationId: 'deleteUser', tags, summary: 'Remove a user',
        description: 'Removes the user with their API keys and sessions. The last active administrator cannot be removed. ' + GUARD,
        params: Params, response: { 204: { type: 'null' } },
      },
    }, async (request, reply) => {
      await service.deleteUser(deps, requireCtx(request.ctx), request.params.id, expectedVersion(request));
      return reply.code(204).send(null);
    });
  };
