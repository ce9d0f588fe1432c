import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../deps.ts';
import { requireCtx } from '../../context.ts';
import { pageRequest } from '../../pagination.ts';
import { IdParam, ref } from '../../schemas/common.ts';
import { BackupRun, BackupRunList, BackupRunListQuery } from './schemas.ts';
import * as service from './service.ts';

const tags = ['snapshots'];

export default (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get('/v1/entities/:id/runs', {
      config: { permission: 'backups:read' },
      schema: {
        operationId: 'listBackupRuns', tags, summary: 'List every backup run of a user or team folder',
        description: 'Newest first, failed, partial and running ones included (snapshots are only the runs that completed), with counts, bytes, duration, Dropbox calls and the first errors.',
        params: IdParam('ent'), querystring: BackupRunListQuery, response: { 200: ref(BackupRunList) },
      },
    }, async (request) => {
      const { state, from, to } = request.query;
      return service.listRuns(deps, requireCtx(request.ctx), request.params.id, pageRequest(request.query), { state, from, to });
    });

    app.get('/v1/runs/:id', {
      config: { permission: 'backups:read' },
      schema: { operationId: 'getBackupRun', tags, summary: 'Get a backup run', params: IdParam('run'), response: { 200: ref(BackupRun) } },
    }, async (request) => service.getRun(deps, requireCtx(request.ctx), request.params.id));
  };
