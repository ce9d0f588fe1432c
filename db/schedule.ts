// When an entity's next scheduled backup is due: the one rule, used by the API (activating an
// entity, changing a task's frequency or hour), discovery, the scheduler and the backup engine.
// It lives in db/ beside the task schema that defines Frequency because every layer may import
// db/ and none may import another's modules; it is a pure function of its arguments.
//
// - Sub-daily frequencies (every hour, 6 or 12 hours) run on the hours aligned with the backup
//   hour: every 6 hours at 3:00 → 03:00, 09:00, 15:00, 21:00 UTC.
// - Daily and slower ones (daily, every 3 days, weekly) run at the backup hour, at least N days
//   after the previous run: the first backup-hour that is both after `after` and later than
//   `lastRun + N days − 23 h` (a run that started late does not push the next one a day later).
//   Without a previous run, the first backup hour after `after`.
import type { EntityStatus, Frequency } from './schema/tasks.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Statuses in which an entity is backed up on schedule (and has a next_backup_at). */
export const ACTIVE_STATUSES: readonly EntityStatus[] = ['scheduled', 'in_process', 'success', 'failed', 'partial'];

export const FREQUENCY_HOURS: Record<Frequency, number> = {
  every_hour: 1, every_6_hours: 6, every_12_hours: 12, daily: 24, every_3_days: 72, weekly: 168,
};

/** The next backup strictly after `after` (and, for daily and slower, not before N days after `lastRun`). */
export function nextBackupAt(frequency: Frequency, backupHour: number, after: Date, lastRun?: Date | null): Date {
  const step = FREQUENCY_HOURS[frequency];
  if (step < 24) {
    // The first aligned hour strictly after `after`.
    const hourStart = Math.floor(after.getTime() / HOUR) * HOUR;
    for (let t = hourStart + HOUR; ; t += HOUR) {
      const h = new Date(t).getUTCHours();
      if ((((h - backupHour) % step) + step) % step === 0) return new Date(t);
    }
  }
  const days = step / 24;
  const earliest = lastRun ? Math.max(after.getTime(), lastRun.getTime() + (days - 1) * DAY + HOUR) : after.getTime();
  const dayStart = Math.floor(earliest / DAY) * DAY;
  const candidate = dayStart + backupHour * HOUR;
  return new Date(candidate > earliest ? candidate : candidate + DAY);
}
