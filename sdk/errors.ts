// Every failed call raises a CofferError carrying the server's RFC 9457 problem document.
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

export class CofferError extends Error {
  readonly status: number;
  /** The stable machine-readable code, e.g. `validation_failed`, `not_found`, `rate_limited`. */
  readonly code: string;
  readonly problem: ProblemDocument | undefined;
  readonly requestId: string | undefined;
  readonly method: string;
  readonly url: string;

  constructor(init: { status: number; problem?: ProblemDocument; requestId?: string; method: string; url: string; message?: string }) {
    const problem = init.problem;
    super(init.message ?? `${init.method} ${init.url} → ${init.status} ${problem?.code ?? ''}: ${problem?.detail ?? problem?.title ?? 'request failed'}`.replace(/\s+:/, ':'));
    this.name = 'CofferError';
    this.status = init.status;
    this.code = problem?.code ?? (init.status === 0 ? 'network_error' : `http_${init.status}`);
    this.problem = problem;
    this.requestId = init.requestId ?? problem?.request_id;
    this.method = init.method;
    this.url = init.url;
  }
}
