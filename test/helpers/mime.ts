// Reads a received email as a mail client would: the plain-text and HTML bodies and the
// attachments of a (possibly nested) multipart message, each decoded (base64, quoted-printable).
export interface MimePart {
  headers: Record<string, string>;
  contentType: string;
  filename: string | null;
  content: Buffer;
}

export interface ParsedMime {
  text: string | null;
  html: string | null;
  attachments: { filename: string; contentType: string; content: Buffer }[];
  parts: MimePart[];
}

function splitHead(raw: string): { headers: Record<string, string>; body: string } {
  const at = raw.search(/\r?\n\r?\n/);
  const head = (at < 0 ? raw : raw.slice(0, at)).replace(/\r?\n[ \t]+/g, ' ');
  const body = at < 0 ? '' : raw.slice(at).replace(/^\r?\n\r?\n/, '');
  const headers: Record<string, string> = {};
  for (const line of head.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { headers, body };
}

function param(header: string | undefined, name: string): string | null {
  if (!header) return null;
  const m = new RegExp(`${name}\\*?=(?:"([^"]*)"|([^;\\s]+))`, 'i').exec(header);
  return m ? (m[1] ?? m[2] ?? null) : null;
}

function decode(body: string, encoding: string): Buffer {
  const enc = encoding.toLowerCase();
  if (enc === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64');
  if (enc === 'quoted-printable') {
    return Buffer.from(body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
  }
  return Buffer.from(body, 'utf8');
}

function walk(raw: string, out: MimePart[]) {
  const { headers, body } = splitHead(raw);
  const contentType = (headers['content-type'] ?? 'text/plain').split(';')[0]!.trim().toLowerCase();
  if (contentType.startsWith('multipart/')) {
    const boundary = param(headers['content-type'], 'boundary');
    if (!boundary) return;
    const pieces = body.split(new RegExp(`\\r?\\n?--${boundary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?:--)?[ \\t]*\\r?\\n?`));
    for (const piece of pieces) if (piece.trim()) walk(piece, out);
    return;
  }
  out.push({
    headers,
    contentType,
    filename: param(headers['content-disposition'], 'filename') ?? param(headers['content-type'], 'name'),
    content: decode(body, headers['content-transfer-encoding'] ?? '7bit'),
  });
}

export function parseMime(raw: string): ParsedMime {
  const parts: MimePart[] = [];
  walk(raw, parts);
  const inline = parts.filter((p) => !p.filename && !/attachment/i.test(p.headers['content-disposition'] ?? ''));
  const text = inline.find((p) => p.contentType === 'text/plain');
  const html = inline.find((p) => p.contentType === 'text/html');
  return {
    text: text ? text.content.toString('utf8').replace(/\r\n/g, '\n') : null,
    html: html ? html.content.toString('utf8').replace(/\r\n/g, '\n') : null,
    attachments: parts.filter((p) => p.filename).map((p) => ({ filename: p.filename!, contentType: p.contentType, content: p.content })),
    parts,
  };
}
