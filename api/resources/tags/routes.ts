import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../deps.ts';
import { requireCtx } from '../../context.ts';
import { expectedVersion, setEtag } from '../../etag.ts';
import { pageRequest } from '../../pagination.ts';
import { IdParam, ref } from '../../schemas/common.ts';
import { Tag, TagCreate, TagList, TagListQuery, TagUpdate } from './schemas.ts';
import * as service from './service.ts';

const tags = ['tags'];
const Params = IdParam('tag');

export default (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post('/v1/tags', {
      config: { permission: 'tasks:modify' },
      schema: { operationId: 'createTag', tags, summary: 'Create a tag', body: ref(TagCreate), response: { 201: ref(Tag) } },
    }, async (request, reply) => {
      const { tag, version } = await service.createTag(deps, requireCtx(request.ctx), request.body.name);
      setEtag(reply, version);
      return reply.code(201).header('location', `/v1/tags/${tag.id}`).send(tag);
    });

    app.get('/v1/tags', {
      config: { permission: 'backups:read' },
      schema: { operationId: 'listTags', tags, summary: 'List tags', querystring: TagListQuery, response: { 200: ref(TagList) } },
    }, async (request) => service.listTags(deps, requireCtx(request.ctx), pageRequest(request.query), { name: request.query.name }));

    app.get('/v1/tags/:id', {
      config: { permission: 'backups:read' },
      schema: { operationId: 'getTag', tags, summary: 'Get a tag', params: Params, response: { 200: ref(Tag) } },
    }, async (request, reply) => {
      const { tag, version } = await service.getTag(deps, requireCtx(request.ctx), request.params.id);
      setEtag(reply, version);
      return tag;
    });

    app.patch('/v1/tags/:id', {
      config: { permission: 'tasks:modify', ifMatch: true },
      schema: { operationId: 'updateTag', tags, summary: 'Rename a tag', params: Params, body: ref(TagUpdate), response: { 200: ref(Tag) } },
    }, async (request, reply) => {
      const { tag, version } = await service.renameTag(deps, requireCtx(request.ctx), request.params.id, request.body.name, expectedVersion(request));
      setEtag(reply, version);
      return tag;
    });

    app.delete('/v1/tags/:id', {
      config: { permission: 'tasks:modify' },
      schema: { operationId: 'deleteTag', tags, summary: 'Delete a tag (it is removed from every entity)', params: Params, response: { 204: { type: 'null', description: 'Deleted' } } },
    }, async (request, reply) => {
      await service.deleteTag(deps, requireCtx(request.ctx), request.params.id);
      return reply.code(204).send(null);
    });
  };
