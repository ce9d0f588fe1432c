// The HTML part of an email written as plain text: every email Coffer sends has both parts (mail
// clients that show HTML only, and spam filters that distrust text-only mail, get the same words).
// Paragraphs are the text's blank-line-separated blocks, line breaks are kept, and http(s) links
// become anchors; everything else is escaped.

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escape = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
const LINK = /https?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)]/g;

function linkify(line: string): string {
  let out = '';
  let last = 0;
  for (const m of line.matchAll(LINK)) {
    out += escape(line.slice(last, m.index)) + `<a href="${escape(m[0])}">${escape(m[0])}</a>`;
    last = m.index + m[0].length;
  }
  return out + escape(line.slice(last));
}

export function textToHtml(text: string): string {
  const blocks = text.replace(/\r\n/g, '\n').split(/\n{2,}/).map((b) => b.trim()).filter(Boolean);
  return [
    '<!doctype html><html><body style="font-family: Arial, Helvetica, sans-serif; color: #1f2933; line-height: 1.45;">',
    ...blocks.map((b) => (b.startsWith('-- ') || b === '--'
      ? `<hr><p style="font-size: 12px; color: #7b8794;">${b.replace(/^--\s*\n?/, '').split('\n').map(linkify).join('<br>')}</p>`
      : `<p>${b.split('\n').map(linkify).join('<br>')}</p>`)),
    '</body></html>',
  ].join('\n');
}
