import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../deps.ts';
import { requireCtx } from '../../context.ts';
import { expectedVersion, setEtag } from '../../etag.ts';
import { pageRequest } from '../../pagination.ts';
import { IdParam, ref } from '../../schemas/common.ts';
import {
  DeliveryListQuery, WebhookDelivery, WebhookDeliveryList, WebhookEndpoint, WebhookEndpointCreate, WebhookEndpointCreated,
  WebhookEndpointList, WebhookEndpointUpdate, WebhookListQuery,
} from './schemas.ts';
import * as service from './service.ts';

const tags = ['webhooks'];
const Params = IdParam('whk');
const permission = 'notifications:manage' as const;

export default (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post('/v1/webhooks', {
      config: { permission, audit: 'webhook_created' },
      schema: { operationId: 'createWebhookEndpoint', tags, summary: 'Create a webhook endpoint (its signing secret is shown once, here)', body: ref(WebhookEndpointCreate), response: { 201: ref(WebhookEndpointCreated) } },
    }, async (request, reply) => {
      const { endpoint, version } = await service.createEndpoint(deps, requireCtx(request.ctx), request.body);
      setEtag(reply, version);
      return reply.code(201).header('location', `/v1/webhooks/${endpoint.id}`).send(endpoint);
    });

    app.get('/v1/webhooks', {
      config: { permission },
      schema: { operationId: 'listWebhookEndpoints', tags, summary: 'List webhook endpoints', querystring: WebhookListQuery, response: { 200: ref(WebhookEndpointList) } },
    }, async (request) => service.listEndpoints(deps, requireCtx(request.ctx), pageRequest(request.query)));

    app.get('/v1/webhooks/:id', {
      config: { permission },
      schema: { operationId: 'getWebhookEndpoint', tags, summary: 'Get a webhook endpoint', params: Params, response: { 200: ref(WebhookEndpoint) } },
    }, async (request, reply) => {
      const { endpoint, version } = await service.getEndpoint(deps, requireCtx(request.ctx), request.params.id);
      setEtag(reply, version);
      return endpoint;
    });

    app.patch('/v1/webhooks/:id', {
      config: { permission, ifMatch: true, audit: 'webhook_updated' },
      schema: { operationId: 'updateWebhookEndpoint', tags, summary: 'Change a webhook endpoint (URL, events, description; enable or disable it)', params: Params, body: ref(WebhookEndpointUpdate), response: { 200: ref(WebhookEndpoint) } },
    }, async (request, reply) => {
      const { endpoint, version } = await service.updateEndpoint(deps, requireCtx(request.ctx), request.params.id, request.body, expectedVersion(request));
      setEtag(reply, version);
      return endpoint;
    });

    app.delete('/v1/webhooks/:id', {
      config: { permission, audit: 'webhook_deleted' },
      schema: { operationId: 'deleteWebhookEndpoint', tags, summary: 'Delete a webhook endpoint and its delivery log', params: Params, response: { 204: { type: 'null', description: 'Deleted' } } },
    }, async (request, reply) => {
      await service.deleteEndpoint(deps, requireCtx(request.ctx), request.params.id);
      return reply.code(204).send(null);
    });

    app.post('/v1/webhooks/:id/rotate-secret', {
      config: { permission, audit: 'webhook_secret_rotated' },
      schema: { operationId: 'rotateWebhookSecret', tags, summary: 'Replace the signing secret (the new one is shown once, here)', params: Params, response: { 200: ref(WebhookEndpointCreated) } },
    }, async (request, reply) => {
      const { endpoint, version } = await service.rotateSecret(deps, requireCtx(request.ctx), request.params.id);
      setEtag(reply, version);
      return endpoint;
    });

    app.post('/v1/webhooks/:id/ping', {
      config: { permission },
      schema: { operationId: 'pingWebhookEndpoint', tags, summary: 'Send a signed `ping` event to the endpoint (asynchronously: watch the delivery)', params: Params, response: { 202: ref(WebhookDelivery) } },
    }, async (request, reply) => {
      const { delivery } = await service.ping(deps, requireCtx(request.ctx), request.params.id);
      return reply.code(202).send(delivery);
    });

    app.post('/v1/webhooks/:id/deliveries/:delivery_id/redeliver', {
      config: { permission },
      schema: {
        operationId: 'redeliverWebhook', tags, summary: 'Send a delivery\'s event again (same event id and body, a new delivery with fresh attempts)',
        params: Type.Object({ id: Params.properties.id, delivery_id: IdParam('dlv').properties.id }),
        response: { 202: ref(WebhookDelivery) },
      },
    }, async (request, reply) => {
      const delivery = await service.redeliver(deps, requireCtx(request.ctx), request.params.id, request.params.delivery_id);
      return reply.code(202).send(delivery);
    });

    app.get('/v1/webhooks/:id/deliveries', {
      config: { permission },
      schema: { operationId: 'listWebhookDeliveries', tags, summary: 'The delivery log of an endpoint, newest first, with every attempt and status code', params: Params, querystring: DeliveryListQuery, response: { 200: ref(WebhookDeliveryList) } },
    }, async (request) => service.listDeliveries(deps, requireCtx(request.ctx), request.params.id, pageRequest(request.query), { state: request.query.state }));
  };
