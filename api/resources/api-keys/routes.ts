import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../deps.ts';
import { requireCtx } from '../../context.ts';
import { expectedVersion, setEtag } from '../../etag.ts';
import { pageRequest } from '../../pagination.ts';
import { IdParam, ref } from '../../schemas/common.ts';
import { ApiKey, ApiKeyCreate, ApiKeyList, ApiKeyListQuery, ApiKeyUpdate, CreatedApiKey } from './schemas.ts';
import * as service from './service.ts';

const tags = ['api-keys'];
const Params = IdParam('key');

export default (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post('/v1/api-keys', {
      config: { permission: 'api_keys:manage', audit: 'api_key_created' },
      schema: {
        operationId: 'createApiKey', tags, summary: 'Create an API key for yourself',
        description: [
          'The secret is returned once, in this response.',
          'A key never holds more than the credential creating it: without `scopes` it gets exactly the permissions that credential holds now (stored on the key),',
          'and a scope that credential does not hold is refused (403 `scope_not_held`).',
        ].join(' '),
        body: ref(ApiKeyCreate), response: { 201: ref(CreatedApiKey) },
      },
    }, async (request, reply) => {
      const key = await service.createApiKey(deps, requireCtx(request.ctx), request.body);
      setEtag(reply, 1);
      return reply.code(201).header('location', `/v1/api-keys/${key.id}`).send(key);
    });

    app.get('/v1/api-keys', {
      schema: { operationId: 'listApiKeys', tags, summary: 'List API keys', querystring: ApiKeyListQuery, response: { 200: ref(ApiKeyList) } },
    }, async (request) => {
      const { state, user_id } = request.query;
      return service.listApiKeys(deps, requireCtx(request.ctx), pageRequest(request.query), { state, user_id });
    });

    app.get('/v1/api-keys/:id', {
      schema: { operationId: 'getApiKey', tags, summary: 'Get an API key', params: Params, response: { 200: ref(ApiKey) } },
    }, async (request, reply) => {
      const { key, version } = await service.getApiKey(deps, requireCtx(request.ctx), request.params.id);
      setEtag(reply, version);
      return key;
    });

    app.patch('/v1/api-keys/:id', {
      config: { permission: 'api_keys:manage', ifMatch: true, audit: 'api_key_updated' },
      schema: { operationId: 'updateApiKey', tags, summary: 'Rename an API key', params: Params, body: ref(ApiKeyUpdate), response: { 200: ref(ApiKey) } },
    }, async (request, reply) => {
      const { key, version } = await service.renameApiKey(deps, requireCtx(request.ctx), request.params.id, request.body.name, expectedVersion(request));
      setEtag(reply, version);
      return key;
    });

    app.delete('/v1/api-keys/:id', {
      config: { permission: 'api_keys:manage', ifMatch: true, audit: 'api_key_revoked' },
      schema: {
        operationId: 'revokeApiKey', tags, summary: 'Revoke an API key',
        description: 'The key stops working at once. Revoking a revoked key is a no-op that returns it. Another user\'s key also needs `users:manage`.',
        params: Params, response: { 200: ref(ApiKey) },
      },
    }, async (request, reply) => {
      const { key, version } = await service.revokeApiKey(deps, requireCtx(request.ctx), request.params.id, expectedVersion(request));
      setEtag(reply, version);
      return key;
    });
  };
