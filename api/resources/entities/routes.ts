import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../deps.ts';
import { requireCtx } from '../../context.ts';
import { setEtag } from '../../etag.ts';
import { pageRequest } from '../../pagination.ts';
import { IdParam, ref } from '../../schemas/common.ts';
import { Entity, EntityActionRequest, EntityActionResult, EntityList, EntityListQuery } from './schemas.ts';
import * as service from './service.ts';

const tags = ['entities'];
const Params = IdParam('ent');

export default (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get('/v1/entities', {
      config: { permission: 'backups:read' },
      schema: {
        operationId: 'listEntities', tags, summary: 'List users and team folders',
        description: 'With `Accept: text/csv` the answer is the usage report: every matching entity (not one page) as CSV.',
        querystring: EntityListQuery,
        response: {
          200: {
            description: 'OK',
            content: {
              'application/json': { schema: ref(EntityList) },
              'text/csv': { schema: Type.String({ description: 'entity, email, kind, usage_status (active / inactive / archived), status, size_bytes, item_count, last_backup, task, entity_id' }) },
            },
          },
        },
      },
    }, async (request, reply) => {
      const ctx = requireCtx(request.ctx);
      if (/\btext\/csv\b/.test(request.headers.accept ?? '')) {
        const csv = await service.entitiesCsv(deps, ctx, request.query);
        return reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="usage-report.csv"').send(csv);
      }
      return service.listEntities(deps, ctx, pageRequest(request.query), request.query);
    });

    app.get('/v1/entities/:id', {
      config: { permission: 'backups:read' },
      schema: { operationId: 'getEntity', tags, summary: 'Get a user or team folder', params: Params, response: { 200: ref(Entity) } },
    }, async (request, reply) => {
      const { entity, version } = await service.getEntity(deps, requireCtx(request.ctx), request.params.id);
      setEtag(reply, version);
      return entity;
    });

    app.post('/v1/entities/actions', {
      config: { permission: 'tasks:modify', audit: 'entity_action' },
      schema: {
        operationId: 'applyEntityAction', tags, summary: 'Activate, pause, back up now, delete or tag many entities',
        description:
          'Activate: not_active / paused → scheduled. Pause: an active entity → paused. Deactivate: an active or paused entity → not_active (no more backups; its snapshots are kept). Backup now: queue a backup of an active entity at once. Delete: 7-day grace period (needs `tasks:delete`; undo with POST /v1/entities/{id}/undelete). add_tag / remove_tag take `tag_id`. Each entity gets its own result.',
        body: ref(EntityActionRequest), response: { 200: ref(EntityActionResult) },
      },
    }, async (request) => service.applyAction(deps, requireCtx(request.ctx), request.body));

    app.post('/v1/entities/:id/undelete', {
      config: { permission: 'tasks:delete', audit: 'entity_undeleted' },
      schema: { operationId: 'undeleteEntity', tags, summary: 'Bring back a deleted entity within its grace period', params: Params, response: { 200: ref(Entity) } },
    }, async (request, reply) => {
      const { entity, version } = await service.undeleteEntity(deps, requireCtx(request.ctx), request.params.id);
      setEtag(reply, version);
      return entity;
    });
  };
