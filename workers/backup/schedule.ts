// When an entity's next scheduled backup is due: slots every `frequency` hours, aligned to the
// task's backup hour (UTC) counted from 1970-01-01, so a daily task runs at backup_hour:00 every day
// and a 6-hourly one at backup_hour, +6, +12, +18.
import type { Frequency } from '../../db/schema/tasks.ts';

const HOUR = 3_600_000;

export const FREQUENCY_HOURS: Record<Frequency, number> = {
  every_hour: 1,
  every_6_hours: 6,
  every_12_hours: 12,
  daily: 24,
  every_3_days: 72,
  weekly: 168,
};

/** The first slot strictly after `now`. */
export function nextBackupAt(now: Date, frequency: Frequency, backupHour: number): Date {
  const period = (FREQUENCY_HOURS[frequency] ?? 24) * HOUR;
  const anchor = ((backupHour % 24) + 24) % 24 * HOUR;
  const k = Math.floor((now.getTime() - anchor) / period) + 1;
  return new Date(anchor + k * period);
}
