// The completion email to the person who started a restore or export (seed 4.x: "a summary will be
// sent to your email"; "the download instructions are sent to your registered email address. The
// download link is only valid for 72 hours"), besides the account's "recovery" recipients. Only
// the initiator's copy carries the export's signed link, and only while they may still export:
// the link is a credential, and recipients are addresses, not users with permissions.
import { and, eq } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import { jobs, users } from '../../../db/schema.ts';
import { downloadToken } from '../../../workers/recovery/export-download.ts';
import { render, type Message } from './templates.ts';

type JobRow = typeof jobs.$inferSelect;

/** The export's signed download link and when it stops working, when the job has one. */
export function exportLink(deps: AppDeps, row: JobRow): { url: string; expiresAt: Date } | null {
  if (row.type !== 'export' || row.destination.type !== 'download' || !row.expiresAt) return null;
  const token = downloadToken(deps, row);
  return token ? { url: `${deps.config.publicUrl}/v1/downloads/${token}`, expiresAt: row.expiresAt } : null;
}

/** Mails `message` to the job's initiator (an active user of the account); returns the (lower-cased) address mailed, or null. */
export async function mailInitiator(deps: AppDeps, row: JobRow, message: Message): Promise<string | null> {
  if (!row.initiatorId) return null;
  const [user] = await deps.db.select().from(users).where(and(eq(users.accountId, row.accountId), eq(users.id, row.initiatorId)));
  if (!user || user.state !== 'active') return null;
  const mayExport = user.role === 'administrator' || user.permissions.includes('recovery:export');
  const link = mayExport ? exportLink(deps, row) : null;
  const what = row.type === 'restore' ? 'restore' : 'export';
  const personal: Message = {
    ...message,
    paragraphs: [
      ...message.paragraphs.filter((p) => !p.startsWith('Requested by ')),
      ...(link ? [`Download the archive within 72 hours: the link below works until ${link.expiresAt.toISOString()} (UTC), then the archive is erased. It needs no sign-in, so do not forward it.`] : []),
    ],
    ...(link ? { link: { label: 'Download the export', url: link.url } } : {}),
  };
  await deps.mailer.send(render(personal, { email: user.email, displayName: user.name ?? user.email },
    `You receive this email because you started this ${what} in Coffer.`));
  return user.email.toLowerCase();
}
