// When an entity's next scheduled backup is due, from its task's frequency and backup hour (UTC).
// Sub-daily frequencies run on the hours aligned with the backup hour (every 6 hours at 3:00 →
// 3, 9, 15, 21); daily and slower ones at the backup hour, N days after the previous run.
import type { Frequency } from '../../../db/schema/tasks.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const INTERVAL_HOURS: Record<Frequency, number> = {
  every_hour: 1, every_6_hours: 6, every_12_hours: 12, daily: 24, every_3_days: 72, weekly: 168,
};

export function nextBackupAt(frequency: Frequency, backupHour: number, after: Date, lastRun?: Date | null): Date {
  const step = INTERVAL_HOURS[frequency];
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
