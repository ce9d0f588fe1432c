// ApiError is the one way a service or route reports a client-visible failure; the error plugin
// turns it (and every other error) into an RFC 9457 problem document.
export interface FieldProblem {
  pointer: string;
  detail: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly detail: string | undefined;
  readonly errors: FieldProblem[] | undefined;
  readonly headers: Record<string, string>;
  readonly extra: Record<string, unknown>;

  constructor(
    status: number,
    code: string,
    title: string,
    detail?: string,
    opts: { errors?: FieldProblem[]; headers?: Record<string, string>; extra?: Record<string, unknown> } = {},
  ) {
    super(detail ?? title);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.title = title;
    this.detail = detail;
    this.errors = opts.errors;
    this.headers = opts.headers ?? {};
    this.extra = opts.extra ?? {};
  }
}

export const badRequest = (code: string, detail: string, errors?: FieldProblem[]) =>
  new ApiError(400, code, 'Bad Request', detail, { errors });

export const invalidField = (pointer: string, detail: string) =>
  new ApiError(400, 'validation_failed', 'Bad Request', detail, { errors: [{ pointer, detail }] });

export const unauthorized = (code: string, detail: string) =>
  new ApiError(401, code, 'Unauthorized', detail, { headers: { 'www-authenticate': 'Bearer realm="coffer"' } });

export const forbidden = (code: string, detail: string) => new ApiError(403, code, 'Forbidden', detail);

export const notFound = (what: string, id?: string) =>
  new ApiError(404, 'not_found', 'Not Found', id ? `${what} ${id} does not exist.` : `${what} does not exist.`);

export const conflict = (code: string, detail: string) => new ApiError(409, code, 'Conflict', detail);

export const gone = (code: string, detail: string) => new ApiError(410, code, 'Gone', detail);

export const preconditionFailed = (detail: string) =>
  new ApiError(412, 'precondition_failed', 'Precondition Failed', detail);

export const unprocessable = (code: string, detail: string) =>
  new ApiError(422, code, 'Unprocessable Content', detail);
