// Every error leaves as application/problem+json (RFC 9457) with a stable `code` and the request
// id. Fastify's own errors (validation, media type, body size, JSON syntax) are mapped to the same
// shape; anything unexpected becomes a 500 whose detail never carries the internal message.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import FindMyWay from 'find-my-way';
import Negotiator from 'negotiator';
import { ApiError, type FieldProblem } from '../errors.ts';

const TITLES: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  406: 'Not Acceptable', 408: 'Request Timeout', 409: 'Conflict', 410: 'Gone', 412: 'Precondition Failed', 413: 'Content Too Large',
  414: 'URI Too Long', 415: 'Unsupported Media Type', 422: 'Unprocessable Content', 428: 'Precondition Required',
  429: 'Too Many Requests', 431: 'Request Header Fields Too Large', 500: 'Internal Server Error', 503: 'Service Unavailable',
};

export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  code: string,
  detail: string | undefined,
  extra: { title?: string; errors?: FieldProblem[]; headers?: Record<string, string>; fields?: Record<string, unknown> } = {},
) {
  const body: Record<string, unknown> = {
    type: `urn:coffer:problem:${code}`,
    title: extra.title ?? TITLES[status] ?? 'Error',
    status,
    ...(detail ? { detail } : {}),
    code,
    instance: request.url.split('?')[0],
    request_id: String(request.id),
    ...(extra.errors?.length ? { errors: extra.errors } : {}),
    ...extra.fields,
  };
  for (const [k, v] of Object.entries(extra.headers ?? {})) reply.header(k, v);
  return reply.code(status).type('application/problem+json; charset=utf-8').send(JSON.stringify(body));
}

interface AjvLikeError {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

function fieldErrors(context: string | undefined, validation: AjvLikeError[]): FieldProblem[] {
  const where = context === 'querystring' ? 'query' : context ?? 'body';
  return validation.map((v) => {
    let pointer = `/${where}${v.instancePath ?? ''}`;
    let message = v.message ?? 'is invalid';
    if (v.keyword === 'required' && typeof v.params?.missingProperty === 'string') {
      pointer += `/${v.params.missingProperty}`;
      message = 'is required';
    } else if (v.keyword === 'additionalProperties' && typeof v.params?.additionalProperty === 'string') {
      pointer += `/${v.params.additionalProperty}`;
      message = 'is not a known field';
    }
    return { pointer, detail: message };
  });
}

/**
 * Errors the router raises before any route or hook runs (Fastify's `frameworkErrors` option): a
 * path segment longer than the router's limit (414) or one that is not valid percent-encoding (400).
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  reply.header('x-request-id', String(request.id));
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return sendProblem(request, reply, 414, 'uri_too_long', 'A path segment of this URL is longer than the API accepts.');
  }
  if (error.code === 'FST_ERR_BAD_URL') {
    return sendProblem(request, reply, 400, 'bad_url', 'The URL is not valid (malformed percent-encoding).');
  }
  request.log.error({ err: error }, 'router error');
  return sendProblem(request, reply, 500, 'internal_error', 'An unexpected error occurred; quote the request id when reporting it.');
}

const CLIENT_ERRORS: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'headers_too_large', 'The request headers are larger than the server accepts.'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request_timeout', 'The request was not received in time.'],
};

/**
 * Errors Node's HTTP parser finds before Fastify sees a request (headers too large, a malformed
 * request line, a timeout): the socket gets a problem document too, instead of Node's bare status line.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket) {
  if (!socket.writable) return socket.destroy();
  if (error.code === 'ECONNRESET') return socket.destroy();
  const [status, code, detail] = CLIENT_ERRORS[error.code ?? ''] ?? [400, 'bad_request', 'The request could not be parsed as HTTP.'];
  const requestId = `req_${randomBytes(12).toString('base64url')}`;
  const body = JSON.stringify({ type: `urn:coffer:problem:${code}`, title: TITLES[status], status, detail, code, request_id: requestId });
  socket.end(
    `HTTP/1.1 ${status} ${TITLES[status]}\r\nContent-Type: application/problem+json; charset=utf-8\r\n`
    + `Content-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * Accept without media-type parameters other than q: `application/json; charset=utf-8` asks for
 * JSON, and Coffer answers JSON in UTF-8 only, so the parameter must not make it unacceptable.
 */
function withoutMediaParameters(accept: string): string {
  return accept.split(',').map((range) => {
    const [type, ...params] = range.split(';');
    return [type, ...params.filter((p) => /^\s*q\s*=/i.test(p))].join(';');
  }).join(',');
}

/** The media types a route's successful responses can take, from its response schemas. */
function producedTypes(response: Record<string, unknown> | undefined): string[] {
  const types = new Set<string>();
  for (const [status, spec] of Object.entries(response ?? {})) {
    if (!/^2/.test(status)) continue;
    const content = (spec as { content?: Record<string, unknown> }).content;
    if (content) for (const type of Object.keys(content)) types.add(type);
    else if (!(spec as { headers?: unknown }).headers && status !== '204') types.add('application/json');
  }
  return [...types];
}

export function registerErrorHandling(app: FastifyInstance) {
  // 406 when the Accept header rules out everything the route can answer with. Routes without a
  // declared response (documentation pages, redirects) accept any Accept header.
  const produces = new Map<string, string[]>();
  app.addHook('onRoute', (route) => {
    const types = producedTypes(route.schema?.response as Record<string, unknown> | undefined);
    if (types.length) produces.set(route.url, types);
  });
  app.addHook('onRequest', async (request, reply) => {
    const accept = request.headers.accept;
    const url = request.routeOptions.url;
    if (!accept || url === undefined) return;
    const types = produces.get(url);
    if (!types) return;
    if (new Negotiator({ headers: { accept: withoutMediaParameters(accept) } }).mediaType(types)) return;
    return sendProblem(request, reply, 406, 'not_acceptable', `This operation answers with ${types.join(' or ')}; the Accept header allows none of them.`, {
      fields: { available: types },
    });
  });

  // A second router that knows every route lets a wrong method on a known path answer 405 with
  // Allow, instead of a misleading 404.
  const known = FindMyWay();
  const methodsByRoute = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (method === 'HEAD') continue;
      let set = methodsByRoute.get(route.url);
      if (!set) {
        set = new Set();
        methodsByRoute.set(route.url, set);
        known.on('GET', route.url, () => {}, { url: route.url });
      }
      set.add(method);
    }
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const match = known.find('GET', path);
    const url = (match?.store as { url?: string } | undefined)?.url;
    const methods = url ? methodsByRoute.get(url) : undefined;
    if (methods && !methods.has(request.method)) {
      const allow = [...methods].sort().join(', ');
      return sendProblem(request, reply, 405, 'method_not_allowed', `${request.method} is not allowed on ${path}; use ${allow}.`, {
        headers: { allow },
      });
    }
    return sendProblem(request, reply, 404, 'route_not_found', `No route ${request.method} ${path}.`);
  });

  app.setErrorHandler((error: FastifyError | ApiError | Error, request, reply) => {
    if (error instanceof ApiError) {
      return sendProblem(request, reply, error.status, error.code, error.detail, {
        title: error.title,
        errors: error.errors,
        headers: error.headers,
        fields: error.extra,
      });
    }
    const fe = error as FastifyError & { validationContext?: string; validation?: AjvLikeError[] };
    if (fe.validation) {
      const errors = fieldErrors(fe.validationContext, fe.validation);
      const detail = errors.map((e) => `${e.pointer} ${e.detail}`).join('; ');
      return sendProblem(request, reply, 400, 'validation_failed', detail, { errors });
    }
    switch (fe.code) {
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendProblem(request, reply, 415, 'unsupported_media_type', 'Send the body as application/json.');
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        return sendProblem(request, reply, 400, 'invalid_content_length', 'Content-Length does not match the body.');
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendProblem(request, reply, 413, 'body_too_large', 'The request body is larger than this endpoint accepts.');
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return sendProblem(request, reply, 400, 'malformed_json', 'The body is empty but Content-Type is application/json.');
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return sendProblem(request, reply, 400, 'malformed_json', 'The body is not valid JSON.');
    }
    if (error instanceof SyntaxError && fe.statusCode === 400) {
      return sendProblem(request, reply, 400, 'malformed_json', 'The body is not valid JSON.');
    }
    const status = fe.statusCode ?? 500;
    if (status === 429) {
      return sendProblem(request, reply, 429, 'rate_limited', 'Too many requests; retry after the time in Retry-After.');
    }
    if (status >= 400 && status < 500) {
      // Fastify's remaining client errors (e.g. FST_ERR_BAD_URL) carry safe messages.
      return sendProblem(request, reply, status, fe.code ? fe.code.toLowerCase() : 'bad_request', fe.message);
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(request, reply, 500, 'internal_error', 'An unexpected error occurred; quote the request id when reporting it.');
  });
}
