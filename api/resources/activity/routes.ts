import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../deps.ts';
import { requireCtx } from '../../context.ts';
import { pageRequest } from '../../pagination.ts';
import { IdParam, ref } from '../../schemas/common.ts';
import { ActivityEventDetail, ActivityEventList, ActivityListQuery } from './schemas.ts';
import * as service from './service.ts';

const tags = ['activity'];

function wantsCsv(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((part) => part.trim().split(';')[0]!.trim().toLowerCase() === 'text/csv');
}

export default (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get('/v1/activity', {
      config: { permission: 'activity:read' },
      schema: {
        operationId: 'listActivity', tags, summary: 'List system activity (backups, restores, exports, discovery)',
        description: 'Newest first. Filters: date range (`from` inclusive, `to` exclusive), `activity`, `service`, `status`, `task_name` and `item` (case-insensitive substrings), `task_id`, `entity_id`. With `Accept: text/csv` the same filters return every matching event (up to 100,000, ignoring `limit` and `cursor`) as a CSV file.',
        querystring: ActivityListQuery,
        response: {
          200: {
            content: {
              'application/json': { schema: ref(ActivityEventList) },
              'text/csv': { schema: Type.String({ description: 'Columns: date, activity, service, sub_service, status, task_name, item, execution_time, duration_ms, size_bytes, counts, description, id.' }) },
            },
          },
        },
      },
    }, async (request, reply) => {
      const ctx = requireCtx(request.ctx);
      if (wantsCsv(request.headers.accept)) {
        const csv = await service.activityCsv(deps, ctx, request.query);
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', 'attachment; filename="system-activity.csv"')
          .serializer((payload: unknown) => payload as string)
          .send(csv as never);
      }
      return reply.type('application/json; charset=utf-8').send(await service.listActivity(deps, ctx, pageRequest(request.query), request.query));
    });

    app.get('/v1/activity/:id', {
      config: { permission: 'activity:read' },
      schema: {
        operationId: 'getActivityEvent', tags, summary: 'Get an activity event with its details (execution time, size, counts, summary)',
        params: IdParam('evt'), response: { 200: ref(ActivityEventDetail) },
      },
    }, async (request) => service.getActivity(deps, requireCtx(request.ctx), request.params.id));
  };
