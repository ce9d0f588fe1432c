// Email templates: every notification is a Message (greeting, paragraphs, an optional table, an
// optional link) rendered twice, as plain text and as HTML, so both bodies always say the same.
import type { MailAttachment, MailMessage } from '../../mail/mailer.ts';

export interface Message {
  subject: string;
  heading: string;
  paragraphs: string[];
  table?: { columns: string[]; rows: (string | number | null)[][] };
  link?: { label: string; url: string };
  attachments?: MailAttachment[];
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const cell = (v: string | number | null) => (v === null ? '' : String(v));

function textTable(columns: string[], rows: (string | number | null)[][]): string {
  const all = [columns, ...rows.map((r) => r.map(cell))];
  const widths = columns.map((_, i) => Math.min(40, Math.max(...all.map((r) => (r[i] ?? '').length))));
  const line = (r: string[]) => r.map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(columns), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map((r) => line(r.map(cell)))].join('\n');
}

const RECIPIENT_FOOTER = 'You receive this email because you are a notification recipient of this Coffer account. An administrator can change that under Settings > Notifications.';

/** Renders a message for one recipient (`footer`: why they receive it, when not as a notification recipient). */
export function render(message: Message, to: { email: string; displayName: string }, footer: string = RECIPIENT_FOOTER): MailMessage {
  const greeting = `Hello ${to.displayName},`;
  const text = [
    greeting, '',
    ...message.paragraphs.flatMap((p) => [p, '']),
    ...(message.table ? [textTable(message.table.columns, message.table.rows), ''] : []),
    ...(message.link ? [`${message.link.label}: ${message.link.url}`, ''] : []),
    '-- ', footer, '',
  ].join('\n');
  const html = [
    '<!doctype html><html><body style="font-family: Arial, Helvetica, sans-serif; color: #1f2933; line-height: 1.45;">',
    `<h2 style="color: #0b4f8a;">${escapeHtml(message.heading)}</h2>`,
    `<p>${escapeHtml(greeting)}</p>`,
    ...message.paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`),
    message.table
      ? '<table style="border-collapse: collapse;" cellpadding="4"><thead><tr>' +
        message.table.columns.map((c) => `<th style="border-bottom: 2px solid #0b4f8a; text-align: left;">${escapeHtml(c)}</th>`).join('') +
        '</tr></thead><tbody>' +
        message.table.rows.map((r) => '<tr>' + r.map((v) => `<td style="border-bottom: 1px solid #d9e2ec;">${escapeHtml(cell(v))}</td>`).join('') + '</tr>').join('') +
        '</tbody></table>'
      : '',
    message.link ? `<p><a href="${escapeHtml(message.link.url)}">${escapeHtml(message.link.label)}</a></p>` : '',
    `<hr><p style="font-size: 12px; color: #7b8794;">${escapeHtml(footer)}</p>`,
    '</body></html>',
  ].join('\n');
  return { to: to.email, subject: message.subject, text, html, attachments: message.attachments };
}
