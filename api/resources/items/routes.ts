import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../deps.ts';
import { requireCtx } from '../../context.ts';
import { pageRequest } from '../../pagination.ts';
import { ref } from '../../schemas/common.ts';
import { ItemSearchQuery, SearchItemList } from './schemas.ts';
import * as service from './service.ts';

const tags = ['recovery'];

export default (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get('/v1/items', {
      config: { permission: 'backups:read' },
      schema: {
        operationId: 'searchItems', tags, summary: 'Search backed-up files and folders',
        description: 'Full-text search over names and paths (and, when the task indexes data, the text of text-like files) across the account\'s backups, optionally one task or entity, with filters for author, name and modified time. With `q` the results are ordered by relevance, else by item; the order is stable across pages. Each result names the snapshots that contain it, ready for POST /v1/restores or /v1/exports.',
        querystring: ItemSearchQuery,
        response: { 200: ref(SearchItemList) },
      },
    }, async (request) => service.searchItems(deps, requireCtx(request.ctx), pageRequest(request.query), request.query));
  };
