// Every failed call raises a CofferError carrying the server's RFC 9457 problem document, as a
// subclass named after what went wrong, so callers can `catch (e) { if (e instanceof NotFoundError) … }`.
export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: string;
  instance?: string;
  request_id: string;
  errors?: { pointer: string; detail: string }[];
  [extension: string]: unknown;
}

export interface CofferErrorInit {
  status: number;
  problem?: ProblemDocument;
  requestId?: string;
  method: string;
  url: string;
  message?: string;
  code?: string;
  headers?: Headers;
}

export class CofferError extends Error {
  /** The HTTP status; 0 when no answer arrived. */
  readonly status: number;
  /** The stable machine-readable code, e.g. `validation_failed`, `not_found`, `rate_limited`. */
  readonly code: string;
  readonly problem: ProblemDocument | undefined;
  readonly requestId: string | undefined;
  readonly method: string;
  readonly url: string;
  readonly headers: Headers | undefined;

  constructor(init: CofferErrorInit) {
    const problem = init.problem;
    super(init.message ?? `${init.method} ${init.url} → ${init.status} ${problem?.code ?? ''}: ${problem?.detail ?? problem?.title ?? 'request failed'}`.replace(/\s+:/, ':'));
    this.name = new.target.name;
    this.status = init.status;
    this.code = init.code ?? problem?.code ?? (init.status === 0 ? 'network_error' : `http_${init.status}`);
    this.problem = problem;
    this.requestId = init.requestId ?? problem?.request_id;
    this.method = init.method;
    this.url = init.url;
    this.headers = init.headers;
  }
}

/** 400 or 422: the request was refused as invalid; `fieldErrors` name each offending field. */
export class ValidationError extends CofferError {
  /** `{ pointer: '/body/name', detail: '…' }` for each invalid field (JSON pointers into the request). */
  get fieldErrors(): { pointer: string; detail: string }[] {
    return this.problem?.errors ?? [];
  }
}
/** 401: no credentials, or they are not valid (revoked key, expired session). */
export class AuthenticationError extends CofferError {}
/** 403: authenticated, but this key or user may not do this. */
export class PermissionError extends CofferError {}
/** 404: no such resource in this account. */
export class NotFoundError extends CofferError {}
/** 409 or 412: the resource changed (a stale If-Match) or the request conflicts with its state. */
export class ConflictError extends CofferError {}
/** 429: too many requests; retried automatically, raised once the retries are spent. */
export class RateLimitError extends CofferError {
  /** Seconds the server asked to wait (`Retry-After`), when it said. */
  get retryAfter(): number | undefined {
    const value = this.headers?.get('retry-after');
    if (!value) return undefined;
    if (/^\d+$/.test(value.trim())) return Number(value.trim());
    const at = Date.parse(value);
    return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
  }
}
/** Any other 4xx or 5xx answer. */
export class ApiError extends CofferError {}
/** No answer: the connection failed or timed out (`code` is `network_error` or `timeout`). */
export class ApiConnectionError extends CofferError {}

/** The error class for an HTTP status. */
export function errorForStatus(init: CofferErrorInit): CofferError {
  switch (init.status) {
    case 400: case 422: return new ValidationError(init);
    case 401: return new AuthenticationError(init);
    case 403: return new PermissionError(init);
    case 404: return new NotFoundError(init);
    case 409: case 412: return new ConflictError(init);
    case 429: return new RateLimitError(init);
    default: return new ApiError(init);
  }
}

/** `coffer.jobs.wait()` raises this when the job ends `failed`; `job` is its final state. */
export class JobFailedError<Job extends { id: string; state: string; reason?: string | null } = { id: string; state: string; reason?: string | null }> extends Error {
  readonly job: Job;
  readonly code = 'job_failed';
  constructor(job: Job) {
    super(`job ${job.id} failed${job.reason ? `: ${job.reason}` : ''}`);
    this.name = 'JobFailedError';
    this.job = job;
  }
}
