// The `webhooks` queue: each job is one attempt of one delivery (api/resources/webhooks/delivery.ts).
import type { AppDeps } from '../../api/deps.ts';
import { deliverWebhooks } from '../../api/resources/webhooks/delivery.ts';
import type { WebhookJob } from '../queue.ts';

export async function webhooksJob(deps: AppDeps, jobs: { data: WebhookJob }[]) {
  return deliverWebhooks(deps, jobs);
}
