import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../deps.ts';
import { requireCtx } from '../../context.ts';
import { expectedVersion, setEtag } from '../../etag.ts';
import { ref } from '../../schemas/common.ts';
import { REGIONS } from '../../regions.ts';
import { regionOffered, regionStorage } from '../../../workers/backup/locations.ts';
import {
  Account, AccountUpdate, ActivationInfo, ActivationQuery, ActivationRequest, ActivationResendRequest, Me, RegionList, Signup, SignupAccepted, SignupRequest,
} from './schemas.ts';
import * as service from './service.ts';
import * as signup from './signup.ts';

const tags = ['accounts'];

export default (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post('/v1/accounts', {
      config: { public: true, throttle: 'sign_up' },
      schema: {
        operationId: 'signUp', tags, summary: 'Sign up: ask for an account',
        description: [
          'Always 202 `activation_sent`, whether or not the address has an account already: the address learns which by email.',
          'A new address gets an activation link valid 48 hours; POST its token to /v1/accounts/activate to create the account in its 14-day trial, its first administrator and a first API key.',
          'An address with an account gets a notice instead (sign in, or reset the password).',
        ].join(' '),
        body: ref(SignupRequest), response: { 202: ref(SignupAccepted) },
      },
    }, async (request, reply) => reply.code(202).send(await signup.signUp(deps, request.body, { ip: request.ip })));

    app.get('/v1/accounts/activate', {
      config: { public: true },
      schema: {
        operationId: 'inspectActivation', tags, summary: 'Check an activation link',
        description: 'The link in the activation email. Answers what it will create without using it: 400 `invalid_token`, 409 `activation_used`, 410 `token_expired`.',
        querystring: ActivationQuery, response: { 200: ref(ActivationInfo) },
      },
    }, async (request) => signup.inspectActivation(deps, request.query.token));

    app.post('/v1/accounts/activate', {
      config: { public: true },
      schema: {
        operationId: 'activateAccount', tags, summary: 'Activate an account: the second step of sign-up',
        description: [
          'Uses the token of the activation email once and creates the account in its 14-day trial, its first administrator and a first API key, whose secret is returned only in this response.',
          'Errors: 400 `invalid_token`, 409 `activation_used` (sign in instead), 410 `token_expired` (ask for a new link), 409 `email_taken` when the address got an account meanwhile.',
        ].join(' '),
        body: ref(ActivationRequest), response: { 201: ref(Signup) },
      },
    }, async (request, reply) => {
      const result = await signup.activate(deps, request.body.token);
      return reply.code(201).header('location', '/v1/account').send(result);
    });

    app.post('/v1/accounts/activation/resend', {
      config: { public: true, throttle: 'sign_up' },
      schema: {
        operationId: 'resendActivation', tags, summary: 'Send the activation link again',
        description: 'Always 202. When a sign-up of this address waits for activation, a new link goes out and the previous one stops working.',
        body: ref(ActivationResendRequest), response: { 202: ref(SignupAccepted) },
      },
    }, async (request, reply) => reply.code(202).send(signup.resendActivation(deps, request.body.email, { ip: request.ip })));

    app.get('/v1/me', {
      schema: { operationId: 'getMe', tags, summary: 'Who am I: the caller\'s user, account and credential', response: { 200: ref(Me) } },
    }, async (request) => service.getMe(deps, requireCtx(request.ctx)));

    app.get('/v1/account', {
      config: { permission: 'account:read' },
      schema: { operationId: 'getAccount', tags, summary: 'Get the account', response: { 200: ref(Account) } },
    }, async (request, reply) => {
      const { account, version } = await service.getAccount(deps, requireCtx(request.ctx));
      setEtag(reply, version);
      return account;
    });

    app.patch('/v1/account', {
      config: { permission: 'account:manage', ifMatch: true, audit: 'settings_changed' },
      schema: {
        operationId: 'updateAccount', tags, summary: 'Change the account name',
        description: 'The region is fixed at sign-up and cannot be changed here.',
        body: ref(AccountUpdate), response: { 200: ref(Account) },
        headers: { type: 'object', properties: {} },
      },
    }, async (request, reply) => {
      const { account, version } = await service.updateAccount(deps, requireCtx(request.ctx), request.body, expectedVersion(request));
      setEtag(reply, version);
      return account;
    });

    app.get('/v1/regions', {
      config: { public: true },
      schema: { operationId: 'listRegions', tags: ['meta'], summary: 'List the data-center regions an account can choose', description: 'Only regions this installation has a storage location for; each says what that location is (`storage`).', response: { 200: ref(RegionList) } },
    }, async () => ({ data: REGIONS.filter((r) => regionOffered(deps.config, r.id)).map((r) => ({ ...r, storage: regionStorage(deps.config, r.id) })) }));
  };
