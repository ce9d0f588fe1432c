import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../deps.ts';
import { requireCtx } from '../../context.ts';
import { expectedVersion, setEtag } from '../../etag.ts';
import { ref } from '../../schemas/common.ts';
import { StorageTarget, StorageTargetUpdate } from './schemas.ts';
import * as service from './service.ts';

const tags = ['storage'];

export default (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get('/v1/storage', {
      config: { permission: 'account:read' },
      schema: { operationId: 'getStorageTarget', tags, summary: 'Where the account\'s backups are stored', response: { 200: ref(StorageTarget) } },
    }, async (request, reply) => {
      const { target, version } = await service.getTarget(deps, requireCtx(request.ctx));
      setEtag(reply, version);
      return target;
    });

    app.put('/v1/storage', {
      config: { permission: 'account:manage', ifMatch: true, audit: 'settings_changed' },
      schema: {
        operationId: 'setStorageTarget', tags, summary: 'Choose where the account\'s backups are stored',
        description: 'Only before the first backup is stored (409 `storage_in_use` after). The account\'s own storage (an S3-compatible bucket, a Google Cloud Storage bucket with an HMAC key, or an Azure Blob Storage container) is checked first: Coffer writes, reads back and deletes a test object. A target that fails is refused with 422 `storage_unreachable` and nothing changes; the problem says which step failed (`failed_step`: `write`, `read`, `delete`) and why (`failure`: `authentication` — the key was refused, `not_found` — no such bucket or container, `permission_denied` — the key may not do this, `refused` — a non-public address, `unreachable`, `other`).',
        body: ref(StorageTargetUpdate), response: { 200: ref(StorageTarget) },
      },
    }, async (request, reply) => {
      const { target, version } = await service.setTarget(deps, requireCtx(request.ctx), request.body, expectedVersion(request));
      setEtag(reply, version);
      return target;
    });
  };
