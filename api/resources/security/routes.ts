import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../deps.ts';
import { requireCtx } from '../../context.ts';
import { expectedVersion, setEtag } from '../../etag.ts';
import { ref } from '../../schemas/common.ts';
import { SecurityPolicy, SecurityPolicyUpdate } from './schemas.ts';
import * as service from './service.ts';

const tags = ['security'];

export default (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get('/v1/security/policy', {
      config: { permission: 'security:manage' },
      schema: { operationId: 'getSecurityPolicy', tags, summary: 'Get the account\'s security policy', response: { 200: ref(SecurityPolicy) } },
    }, async (request, reply) => {
      const { policy, version } = await service.getPolicy(deps, requireCtx(request.ctx));
      setEtag(reply, version);
      return policy;
    });

    app.patch('/v1/security/policy', {
      config: { permission: 'security:manage', ifMatch: true, audit: 'settings_changed' },
      schema: {
        operationId: 'updateSecurityPolicy', tags, summary: 'Change the security policy (enforce 2FA, password expiration)',
        description: 'Only an administrator may change it (403 `administrator_required`); `security:manage` alone reads it. Accepts If-Match with the ETag of GET /v1/security/policy.',
        body: ref(SecurityPolicyUpdate), response: { 200: ref(SecurityPolicy) },
      },
    }, async (request, reply) => {
      const { policy, version } = await service.updatePolicy(deps, requireCtx(request.ctx), request.body, expectedVersion(request));
      setEtag(reply, version);
      return policy;
    });
  };
