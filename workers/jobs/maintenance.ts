// Hourly housekeeping. Idempotent: running it twice, or concurrently, is harmless.
import { lte } from 'drizzle-orm';
import type { AppDeps } from '../../api/deps.ts';
import { idempotencyKeys } from '../../db/schema.ts';
import { purgeExpiredSecurityRows } from '../../api/resources/sessions/service.ts';
import { purgeExpiredSignups } from '../../api/resources/accounts/signup.ts';
import { purgeExpiredEvents } from '../../api/resources/events/feed.ts';

export async function maintenanceJob(deps: Pick<AppDeps, 'db' | 'clock'>) {
  const idempotencyKeys = await purgeExpiredIdempotencyKeys(deps);
  const security = await purgeExpiredSecurityRows(deps);
  const signups = await purgeExpiredSignups(deps);
  const events = await purgeExpiredEvents(deps);
  return {
    idempotency_keys_removed: idempotencyKeys,
    sessions_removed: security.sessions,
    user_tokens_removed: security.tokens,
    login_throttles_removed: security.throttles,
    pending_signups_removed: signups,
    events_removed: events,
  };
}

/**
 * Removes expired idempotency keys. Here rather than in the HTTP plugin that writes them
 * (api/plugins/idempotency.ts): a job has no business importing the HTTP layer.
 */
export async function purgeExpiredIdempotencyKeys(deps: Pick<AppDeps, 'db' | 'clock'>): Promise<number> {
  const rows = await deps.db.delete(idempotencyKeys).where(lte(idempotencyKeys.expiresAt, deps.clock.now())).returning({ key: idempotencyKeys.key });
  return rows.length;
}
