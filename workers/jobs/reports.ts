// The `reports` queue (hourly): sends every summary report whose period has ended
// (api/resources/notifications/reports.ts), after pruning expired report links, old notification
// keys and settled webhook deliveries older than 30 days.
import type { AppDeps } from '../../api/deps.ts';
import { pruneNotifications, sendDueReports } from '../../api/resources/notifications/reports.ts';

export async function reportsJob(deps: AppDeps) {
  const pruned = await pruneNotifications(deps);
  return { ...(await sendDueReports(deps)), pruned };
}
