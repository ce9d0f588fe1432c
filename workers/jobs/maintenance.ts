// Hourly housekeeping. Idempotent: running it twice, or concurrently, is harmless.
import type { AppDeps } from '../../api/deps.ts';
import { purgeExpiredIdempotencyKeys } from '../../api/plugins/idempotency.ts';
import { purgeExpiredSecurityRows } from '../../api/resources/sessions/service.ts';
import { purgeExpiredSignups } from '../../api/resources/accounts/signup.ts';

export async function maintenanceJob(deps: Pick<AppDeps, 'db' | 'clock'>) {
  const idempotencyKeys = await purgeExpiredIdempotencyKeys(deps);
  const security = await purgeExpiredSecurityRows(deps);
  const signups = await purgeExpiredSignups(deps);
  return {
    idempotency_keys_removed: idempotencyKeys,
    sessions_removed: security.sessions,
    user_tokens_removed: security.tokens,
    login_throttles_removed: security.throttles,
    pending_signups_removed: signups,
  };
}
