import { Type, type Static } from '@fastify/type-provider-typebox';
import { Page, PageQuery, Timestamp } from '../../schemas/common.ts';
import { WEBHOOK_EVENT_TYPES } from '../webhooks/schemas.ts';

/** The feed carries every webhook event type except `ping`, which is one endpoint's test, not an account event. */
export const FEED_EVENT_TYPES = WEBHOOK_EVENT_TYPES.filter((t) => t !== 'ping');
export type FeedEventType = (typeof FEED_EVENT_TYPES)[number];

const EventType = Type.Enum([...FEED_EVENT_TYPES], { description: 'An event type (the webhook event types but `ping`).' });
const oneType = FEED_EVENT_TYPES.map((t) => t.replace('.', '\\.')).join('|');
const TypeFilter = Type.String({
  pattern: `^(${oneType})(,(${oneType}))*$`,
  maxLength: 1000,
  description: 'One event type, or several separated by commas.',
  examples: ['job.state_changed,backup.run_failed'],
});

export const Event = Type.Object(
  {
    id: Type.String({ examples: ['evt_01jd8x4z3q9v6w2k5m7n0p1r8s'], description: 'The event id: also `Coffer-Event-Id` of its webhook deliveries.' }),
    type: EventType,
    created_at: Timestamp(),
    account_id: Type.String({ description: 'The account the event happened in.' }),
    partner_account_id: Type.Union([Type.String(), Type.Null()], { description: 'The partner that manages that account (null for none): a partner\'s endpoint with scope `customers` gets its customers\' events.' }),
    data: Type.Record(Type.String(), Type.Unknown(), { description: 'The payload of the event type (snake_case JSON). A test event (`POST /v1/events/test`) carries `{ test: true, message }`.' }),
  },
  {
    $id: 'Event',
    additionalProperties: false,
    description: 'Something that happened in the account, exactly as a webhook delivery carries it (the delivery\'s body is this JSON). Kept 30 days.',
  },
);
export type Event = Static<typeof Event>;
export const EventList = Page(Event, 'EventList');

const EventScopeParam = Type.Enum(['account', 'customers'], {
  description: '`account` (the default): this account\'s events. `customers` (a partner account only; 403 `not_a_partner` otherwise): the events of every customer the partner manages now (not of one that revoked its access).',
});

export const EventListQuery = Type.Object(
  {
    ...PageQuery,
    type: Type.Optional(TypeFilter),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'Events at or after this time.' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'Events before this time.' })),
    scope: Type.Optional(EventScopeParam),
  },
  { additionalProperties: false },
);
export type EventListQuery = Static<typeof EventListQuery>;

export const EventStreamQuery = Type.Object({ type: Type.Optional(TypeFilter), scope: Type.Optional(EventScopeParam) }, { additionalProperties: false });

export const EventStreamHeaders = Type.Object({
  'last-event-id': Type.Optional(Type.String({
    pattern: '^evt_[0-9a-z]{26}$',
    description: 'Resume after this event (what EventSource sends on reconnecting): the events since then are sent first, then new ones.',
  })),
});

export const TestEventCreate = Type.Object(
  { type: EventType },
  { $id: 'TestEventCreate', additionalProperties: false },
);
export type TestEventCreate = Static<typeof TestEventCreate>;

export const schemas = [Event, EventList, TestEventCreate];
