import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../deps.ts';
import { requireCtx } from '../../context.ts';
import { pageRequest } from '../../pagination.ts';
import { IdParam, ref } from '../../schemas/common.ts';
import { EntityHistory, HistoryQuery, Snapshot, SnapshotItemDetail, SnapshotItemList, SnapshotItemsQuery, SnapshotList, SnapshotListQuery } from './schemas.ts';
import * as service from './service.ts';

const tags = ['snapshots'];
const ItemParams = Type.Object({
  id: Type.String({ pattern: '^run_[0-9a-z]{26}$', description: 'A snapshot id (`run_…`).' }),
  item: Type.String({ pattern: '^item_[0-9a-z]{26}$', description: 'An item version id (`item_…`).' }),
});

export default (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get('/v1/entities/:id/snapshots', {
      config: { permission: 'backups:read' },
      schema: {
        operationId: 'listSnapshots', tags, summary: 'List the snapshots of a user or team folder',
        description: 'Completed backups, newest first. A backup in progress or one that failed is not a snapshot.',
        params: IdParam('ent'), querystring: SnapshotListQuery, response: { 200: ref(SnapshotList) },
      },
    }, async (request) => {
      const { from, to } = request.query;
      return service.listSnapshots(deps, requireCtx(request.ctx), request.params.id, pageRequest(request.query), { from, to });
    });

    app.get('/v1/snapshots/:id', {
      config: { permission: 'backups:read' },
      schema: { operationId: 'getSnapshot', tags, summary: 'Get a snapshot', params: IdParam('run'), response: { 200: ref(Snapshot) } },
    }, async (request) => service.getSnapshot(deps, requireCtx(request.ctx), request.params.id));

    app.get('/v1/snapshots/:id/items', {
      config: { permission: 'backups:read' },
      schema: {
        operationId: 'listSnapshotItems', tags, summary: 'Browse a folder as it was in a snapshot',
        description: 'The folder\'s children at that snapshot: folders first, then files, each by name.',
        params: IdParam('run'), querystring: SnapshotItemsQuery, response: { 200: ref(SnapshotItemList) },
      },
    }, async (request) => service.listItems(deps, requireCtx(request.ctx), request.params.id, request.query));

    app.get('/v1/snapshots/:id/items/:item', {
      config: { permission: 'backups:read' },
      schema: {
        operationId: 'getSnapshotItem', tags, summary: 'Get an item of a snapshot and its versions',
        params: ItemParams, response: { 200: ref(SnapshotItemDetail) },
      },
    }, async (request) => service.getItem(deps, requireCtx(request.ctx), request.params.id, request.params.item));

    app.get('/v1/entities/:id/history', {
      config: { permission: 'backups:read' },
      schema: {
        operationId: 'getEntityHistory', tags, summary: 'Backup history of a user or team folder, per day',
        description: 'Items backed up per UTC day over at most 31 days (default: the last 30), with summary tiles.',
        params: IdParam('ent'), querystring: HistoryQuery, response: { 200: ref(EntityHistory) },
      },
    }, async (request) => service.entityHistory(deps, requireCtx(request.ctx), request.params.id, request.query));
  };
