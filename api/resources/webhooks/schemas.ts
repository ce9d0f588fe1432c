import { Type, type Static } from '@fastify/type-provider-typebox';
import { NullableTimestamp, Page, PageQuery, Timestamp } from '../../schemas/common.ts';

/** Every event type a webhook endpoint can subscribe to. */
export const WEBHOOK_EVENT_TYPES = [
  'job.state_changed', 'backup.run_finished', 'backup.run_failed', 'entity.discovered', 'task.disconnected',
  'smart_alert.raised', 'invoice.created', 'invoice.paid', 'invoice.payment_failed', 'invoice.overdue',
  'subscription.created', 'subscription.canceled', 'account.suspended', 'account.pending_deletion', 'verification.finished', 'ping',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

const EventType = Type.Enum([...WEBHOOK_EVENT_TYPES], { description: 'A webhook event type.' });
const Url = Type.String({ minLength: 8, maxLength: 2000, format: 'uri', description: 'http(s) URL Coffer POSTs events to. Loopback, private and link-local targets are refused unless the server allows them (COFFER_WEBHOOKS_ALLOW_PRIVATE).', examples: ['https://hooks.example.com/coffer'] });
const Events = Type.Array(EventType, { minItems: 1, maxItems: WEBHOOK_EVENT_TYPES.length, uniqueItems: true });
const Scope = Type.Enum(['account', 'customers'], {
  description: '`account` (the default): this account\'s events. `customers` (a partner account only; 403 `not_a_partner` otherwise): the events of every customer the partner manages, each carrying the customer\'s `account_id` and the partner\'s `partner_account_id`; a customer that revokes the partner\'s access stops sending them.',
});

export const WebhookEndpoint = Type.Object(
  {
    id: Type.String({ examples: ['whk_01jd8x4z3q9v6w2k5m7n0p1r8s'] }),
    url: Type.String(),
    events: Type.Array(EventType),
    scope: Scope,
    description: Type.Union([Type.String(), Type.Null()]),
    enabled: Type.Boolean({ description: 'Disabled endpoints receive nothing (a ping still goes out).' }),
    secret_hint: Type.String({ description: 'The last four characters of the signing secret; the secret itself is shown once, on creation.' }),
    created_at: Timestamp(),
    updated_at: Timestamp(),
  },
  {
    $id: 'WebhookEndpoint',
    additionalProperties: false,
    description: 'An HTTPS endpoint that receives events. Each delivery is a POST of `{ id, type, created_at, account_id, partner_account_id, data }` with the header `Coffer-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`. Verifiers should recompute the HMAC over the raw body, compare in constant time, and refuse a timestamp more than 5 minutes from their clock (sdk/webhooks.ts `verifyWebhookSignature`). A delivery that does not get a 2xx within 10 seconds is retried with back-off for about a day.',
  },
);
export type WebhookEndpoint = Static<typeof WebhookEndpoint>;

export const WebhookEndpointCreated = Type.Object(
  {
    ...WebhookEndpoint.properties,
    secret: Type.String({ description: 'The signing secret (`whsec_…`). Shown only in this response: store it now.' }),
  },
  { $id: 'WebhookEndpointCreated', additionalProperties: false },
);

export const WebhookEndpointCreate = Type.Object(
  {
    url: Url, events: Events, scope: Type.Optional(Scope), description: Type.Optional(Type.String({ maxLength: 500 })),
    enabled: Type.Optional(Type.Boolean({ description: 'Default true.' })),
  },
  { $id: 'WebhookEndpointCreate', additionalProperties: false },
);
export type WebhookEndpointCreate = Static<typeof WebhookEndpointCreate>;

export const WebhookEndpointUpdate = Type.Object(
  {
    url: Type.Optional(Url),
    events: Type.Optional(Events),
    scope: Type.Optional(Scope),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 500 }), Type.Null()])),
    enabled: Type.Optional(Type.Boolean()),
  },
  { $id: 'WebhookEndpointUpdate', additionalProperties: false },
);
export type WebhookEndpointUpdate = Static<typeof WebhookEndpointUpdate>;

export const WebhookEndpointList = Page(WebhookEndpoint, 'WebhookEndpointList');
export const WebhookListQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });

const DeliveryAttempt = Type.Object(
  {
    at: Timestamp(),
    status_code: Type.Union([Type.Integer(), Type.Null()], { description: 'The HTTP status the endpoint answered; null when no answer came (refused, timed out).' }),
    error: Type.Union([Type.String(), Type.Null()]),
    duration_ms: Type.Integer(),
  },
  { additionalProperties: false },
);

export const WebhookDelivery = Type.Object(
  {
    id: Type.String({ examples: ['dlv_01jd8x4z3q9v6w2k5m7n0p1r8s'] }),
    endpoint_id: Type.String(),
    event_id: Type.String(),
    event_type: EventType,
    state: Type.Enum(['pending', 'succeeded', 'failed'], { description: 'pending: not yet delivered, more attempts will follow; failed: every attempt failed (or the target was refused).' }),
    attempt_count: Type.Integer(),
    attempts: Type.Array(DeliveryAttempt),
    last_status_code: Type.Union([Type.Integer(), Type.Null()]),
    next_attempt_at: NullableTimestamp('When the next retry is due (pending deliveries).'),
    created_at: Timestamp(),
    delivered_at: NullableTimestamp(),
  },
  { $id: 'WebhookDelivery', additionalProperties: false },
);
export type WebhookDelivery = Static<typeof WebhookDelivery>;
export const WebhookDeliveryList = Page(WebhookDelivery, 'WebhookDeliveryList');
export const DeliveryListQuery = Type.Object(
  { ...PageQuery, state: Type.Optional(Type.Enum(['pending', 'succeeded', 'failed'])) },
  { additionalProperties: false },
);

export const schemas = [WebhookEndpoint, WebhookEndpointCreated, WebhookEndpointCreate, WebhookEndpointUpdate, WebhookEndpointList, WebhookDelivery, WebhookDeliveryList];
