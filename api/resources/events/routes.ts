import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../deps.ts';
import { requireCtx } from '../../context.ts';
import { pageRequest } from '../../pagination.ts';
import { IdParam, ref } from '../../schemas/common.ts';
import { Event, EventList, EventListQuery, EventStreamHeaders, EventStreamQuery, TestEventCreate } from './schemas.ts';
import * as service from './service.ts';
import { EventHub, HEARTBEAT_MS, openStream } from './stream.ts';

const tags = ['events'];
// The feed carries exactly what webhook deliveries carry (invoices, runs, alerts, …), and whoever
// holds notifications:manage can receive all of it already by adding an endpoint: the same
// permission reads it here, so the feed widens nobody's view. (activity:read would let a
// read-only role see billing events it cannot see otherwise.)
const permission = 'notifications:manage' as const;

const SSE_DESCRIPTION = `Server-Sent Events (\`text/event-stream\`): each event of the account as

\`\`\`
id: <event id>
event: <event type>
data: <the event's JSON, exactly the body of its webhook delivery>
\`\`\`

With \`Last-Event-ID\` (EventSource sends it when it reconnects) the events after that one are sent
first, then new ones as they happen (within about a second, whichever process raised them). A
comment line (\`: heartbeat\`) every ${HEARTBEAT_MS / 1000} s keeps proxies from closing an idle stream. The
server ends a stream after 30 minutes; reconnect with Last-Event-ID.`;

export default (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    const hub = new EventHub(deps);
    app.addHook('preClose', async () => hub.close());

    app.get('/v1/events', {
      config: { permission },
      schema: {
        operationId: 'listEvents', tags, summary: 'List the account\'s events (newest first; kept 30 days)',
        description: 'Every event webhooks carry (whether or not an endpoint subscribes to it), as a delivery would POST it. Filter by `type` (one or several, comma-separated) and by time (`from` inclusive, `to` exclusive). A partner lists its customers\' events with `scope=customers`.',
        querystring: EventListQuery, response: { 200: ref(EventList) },
      },
    }, async (request) => service.listEvents(deps, requireCtx(request.ctx), pageRequest(request.query), request.query));

    app.get('/v1/events/stream', {
      config: { permission },
      schema: {
        operationId: 'streamEvents', tags, summary: 'Receive the account\'s events as they happen (Server-Sent Events)',
        description: `${SSE_DESCRIPTION}\n\nA partner receives its customers' events with \`scope=customers\` (403 \`not_a_partner\` for another account); a customer that revokes the partner's access stops being delivered at once.`,
        querystring: EventStreamQuery,
        headers: EventStreamHeaders,
        // Unsafe<unknown>: the handler sends a stream, the document says text.
        response: { 200: { description: 'The event stream (open until the client or the server ends it).', content: { 'text/event-stream': { schema: Type.Unsafe<unknown>(Type.String()) } } } },
      },
    }, async (request, reply) => {
      const ctx = requireCtx(request.ctx);
      hub.track(new Promise((resolve) => reply.raw.once('close', () => {
        // A stream the client dropped: its connection is not reused, and it must not keep the
        // server's close waiting for the keep-alive timeout.
        if (!reply.raw.writableFinished) request.raw.socket?.destroy();
        resolve();
      })));
      const stream = await openStream(deps, hub, {
        scope: await service.eventScope(deps, ctx, request.query.scope),
        lastEventId: request.headers['last-event-id'],
        types: service.parseTypes(request.query.type),
      });
      return reply
        .type('text/event-stream; charset=utf-8')
        .header('cache-control', 'no-cache, no-store')
        .header('x-accel-buffering', 'no')
        .send(stream);
    });

    app.get('/v1/events/:id', {
      config: { permission },
      schema: { operationId: 'getEvent', tags, summary: 'Get an event', description: 'An event of the account or, for a partner, of a customer it manages now (as `scope=customers` lists them); any other id is 404.', params: IdParam('evt'), response: { 200: ref(Event) } },
    }, async (request) => service.getEvent(deps, requireCtx(request.ctx), request.params.id));

    app.post('/v1/events/test', {
      config: { permission },
      schema: {
        operationId: 'createTestEvent', tags, summary: 'Record a test event of a type in the feed (what `coffer trigger` sends)',
        description: 'The event (data `{ test: true, message }`) goes to the account\'s feed and its streams, so `coffer listen` forwards it; it is not sent to webhook endpoints, whose receivers would act on it (`POST /v1/webhooks/{id}/ping` tests an endpoint).',
        body: ref(TestEventCreate), response: { 201: ref(Event) },
      },
    }, async (request, reply) => {
      const event = await service.createTestEvent(deps, requireCtx(request.ctx), request.body.type);
      return reply.code(201).header('location', `/v1/events/${event.id}`).send(event);
    });
  };
