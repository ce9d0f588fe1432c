// The `notifications` queue: mail raised by the notification triggers, sent to the recipients of
// its type (api/resources/notifications/triggers.ts).
import type { AppDeps } from '../../api/deps.ts';
import { sendMailJobs } from '../../api/resources/notifications/triggers.ts';
import type { MailJob } from '../queue.ts';

export async function notificationsJob(deps: AppDeps, jobs: { data: MailJob }[]) {
  return { sent: await sendMailJobs(deps, jobs) };
}
