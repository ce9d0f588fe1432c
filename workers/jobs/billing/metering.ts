// Metering: once a day, the billable quantity of every account that is not being deleted —
// protected entities (active, not not_active / archived / backed up in another task) and stored
// bytes (entities.size_bytes) — kept as one usage row per account and UTC day. Running it twice
// a day keeps the day's peak.
import { ne } from 'drizzle-orm';
import type { AppDeps } from '../../../api/deps.ts';
import { accounts } from '../../../db/schema.ts';
import { recordUsage } from '../../../api/resources/billing/quantities.ts';

export async function meterUsage(deps: Pick<AppDeps, 'db' | 'clock'>): Promise<{ accounts: number }> {
  const now = deps.clock.now();
  const rows = await deps.db.select({ id: accounts.id }).from(accounts).where(ne(accounts.state, 'pending_deletion'));
  for (const a of rows) await recordUsage(deps.db, a.id, now);
  return { accounts: rows.length };
}
