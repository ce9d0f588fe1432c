import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../deps.ts';
import { requireCtx } from '../../context.ts';
import { expectedVersion, setEtag } from '../../etag.ts';
import { ref } from '../../schemas/common.ts';
import { REGIONS } from '../../regions.ts';
import { Account, AccountUpdate, Me, RegionList, Signup, SignupRequest } from './schemas.ts';
import * as service from './service.ts';

const tags = ['accounts'];

export default (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post('/v1/accounts', {
      config: { public: true },
      schema: {
        operationId: 'signUp', tags, summary: 'Sign up: create an account',
        description: 'Creates an account in its 14-day trial, its first administrator, and a first API key. The key\'s secret is returned only in this response.',
        body: ref(SignupRequest), response: { 201: ref(Signup) },
      },
    }, async (request, reply) => {
      const result = await service.signUp(deps, request.body);
      return reply.code(201).header('location', '/v1/account').send(result);
    });

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
      config: { permission: 'account:manage', ifMatch: true },
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
      schema: { operationId: 'listRegions', tags: ['meta'], summary: 'List the data-center regions an account can choose', response: { 200: ref(RegionList) } },
    }, async () => ({ data: [...REGIONS] }));
  };
