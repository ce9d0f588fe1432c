// The one place billing announces what happened, for webhooks and notifications to pick up.
// Called after the change is committed; it must never throw into billing (a failed announcement
// does not undo a payment), and it must not block (delivery is someone else's queue).
import type { AppDeps } from '../../deps.ts';
import { emitEvent } from '../webhooks/service.ts';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '../webhooks/schemas.ts';

export type BillingEventType =
  | 'invoice.created'
  | 'invoice.paid'
  | 'invoice.payment_failed'
  | 'invoice.overdue'
  | 'subscription.created'
  | 'subscription.canceled'
  | 'account.suspended'
  | 'account.pending_deletion';

export interface BillingEvent {
  type: BillingEventType;
  accountId: string;
  /** The resource as the API serializes it (an Invoice, a Subscription, …), or ids. */
  data: Record<string, unknown>;
  occurredAt: Date;
}

type Listener = (deps: AppDeps, event: BillingEvent) => Promise<void> | void;
const listeners: Listener[] = [];

/**
 * Further consumers (notifications, …) can subscribe here: `onBillingEvent((deps, e) => …)`.
 * Webhooks are wired below: every event type an endpoint can subscribe to is fanned out to them.
 */
export function onBillingEvent(listener: Listener): void {
  listeners.push(listener);
}

function isWebhookEvent(type: string): type is WebhookEventType {
  return (WEBHOOK_EVENT_TYPES as readonly string[]).includes(type);
}

export async function emitBillingEvent(deps: AppDeps, event: BillingEvent): Promise<void> {
  if (isWebhookEvent(event.type)) {
    try {
      await emitEvent(deps, deps.db, event.accountId, event.type, event.data);
    } catch (err) {
      deps.log.error({ err, type: event.type }, 'billing webhook event failed');
    }
  }
  for (const listener of listeners) {
    try {
      await listener(deps, event);
    } catch (err) {
      deps.log.error({ err, type: event.type }, 'billing event listener failed');
    }
  }
}
