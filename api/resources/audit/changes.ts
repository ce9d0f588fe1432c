// What an audit event says changed: the before and after values of the fields that differ, with
// every secret masked. An auditor must see THAT a webhook secret or a storage credential changed,
// never the value: the audit log is readable by anyone with `audit:read` and exported as CSV.

/** Field names whose values are secrets (tokens, keys, passwords, credentials, signing secrets). */
const SECRET_FIELD = /secret|token|password|passphrase|credential|private_?key|access_?key|account_?key|connection_?string|api_?key$|^key$|signature|authorization|cookie/i;

export const MASK = '••••••';

/** Every URL's user information (`https://user:password@host/`) and secret-named query values, wherever it appears in the text. */
export function maskUrls(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, (url) => url
    .replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i, `$1${MASK}@`)
    .replace(/([?&])([^=&#]*)=([^&#]*)/g, (all, sep: string, name: string) => (SECRET_FIELD.test(name) || /^(sig|key|code|auth)$/i.test(name) ? `${sep}${name}=${MASK}` : all)));
}

/** The value with every secret field (at any depth) replaced by MASK; a null secret stays null. */
export function maskSecrets(value: unknown): unknown {
  if (typeof value === 'string') return maskUrls(value);
  if (Array.isArray(value)) return value.map(maskSecrets);
  if (value instanceof Date) return value.toISOString();
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, SECRET_FIELD.test(k) && v !== null && v !== undefined ? MASK : maskSecrets(v)]));
  }
  return value;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

export type Changes = {
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
};

/**
 * The fields of `before` and `after` (serialized API objects, or null for a creation / deletion)
 * that differ, masked. A secret that changed shows MASK on both sides, so the change is visible
 * but not the value. Timestamps that move with every write (`updated_at`) are left out.
 */
export function beforeAfter(before: object | null, after: object | null): Changes {
  const b = (before ? maskSecrets(before) : null) as Record<string, unknown> | null;
  const a = (after ? maskSecrets(after) : null) as Record<string, unknown> | null;
  if (!b || !a) return { before: b, after: a };
  const raw = { before: before as Record<string, unknown>, after: after as Record<string, unknown> };
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].filter((k) => k !== 'updated_at' && !same(raw.before[k], raw.after[k]));
  return { before: Object.fromEntries(keys.map((k) => [k, b[k] ?? null])), after: Object.fromEntries(keys.map((k) => [k, a[k] ?? null])) };
}
