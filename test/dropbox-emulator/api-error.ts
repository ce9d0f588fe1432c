// Error values thrown by handlers and turned into Dropbox-shaped HTTP responses by the server.

export type UnionValue = { '.tag': string; [k: string]: unknown };

export class ApiError extends Error {
  readonly status: number;
  /** JSON object, or a string for Dropbox's plain-text 400s / 429 text variant. */
  readonly body: unknown;
  readonly headers: Record<string, string>;
  constructor(status: number, body: unknown, headers: Record<string, string> = {}) {
    super(typeof body === 'string' ? body : JSON.stringify(body));
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

let dotCounter = 0;

/**
 * error_summary = tag chain joined by '/' plus a varying run of trailing dots (HTTPDOC: discourages string matching).
 * The chain follows a union member nested under its tag, or else the first struct field that is itself a union
 * (e.g. UploadWriteFailed.reason), which reproduces summaries like "path/conflict/file/..".
 */
export function errorSummary(value: UnionValue): string {
  const tags: string[] = [];
  let cur: unknown = value;
  while (isUnion(cur)) {
    const tag = cur['.tag'];
    tags.push(tag);
    const nested = cur[tag];
    if (isUnion(nested)) { cur = nested; continue; }
    cur = Object.entries(cur).find(([k, v]) => k !== '.tag' && isUnion(v))?.[1];
  }
  return tags.join('/') + '/' + '.'.repeat(dotCounter++ % 4);
}

function isUnion(v: unknown): v is UnionValue {
  return typeof v === 'object' && v !== null && typeof (v as { '.tag'?: unknown })['.tag'] === 'string';
}

/** Endpoint-specific error (HTTP 409 unless told). */
export function routeError(error: UnionValue, status = 409): ApiError {
  return new ApiError(status, { error_summary: errorSummary(error), error });
}

/** `{".tag": tag, [tag]: inner}` — a union member whose type is itself a union. */
export function nest(tag: string, inner: UnionValue): UnionValue {
  return { '.tag': tag, [tag]: inner };
}

export function tag(t: string, fields: Record<string, unknown> = {}): UnionValue {
  return { '.tag': t, ...fields };
}

/** 401 AuthError. */
export function authError(t: string): ApiError {
  return routeError(tag(t), 401);
}

/** Dropbox answers malformed input with HTTP 400 and a plain-text body. */
export function badRequest(route: string, message: string): ApiError {
  return new ApiError(400, `Error in call to API function "${route}": ${message}`);
}

export function pathLookupError(t: 'not_found' | 'malformed_path' | 'not_file' | 'not_folder' | 'restricted_content', outer = 'path'): ApiError {
  return routeError(nest(outer, tag(t)));
}
