// Completes every route's OpenAPI description from what the route already declares, so that the
// contract cannot drift from the behaviour: the security requirement follows `config.public`, the
// permission is published as `x-permission`, the audit event a write records as `x-audit` (from
// `config.audit`; writes that record none are listed in api/resources/audit/exempt.ts), the If-Match header and its 412 follow `config.ifMatch`
// (api/etag.ts refuses to read If-Match on a route that does not declare it), and the problem responses the plugins can produce
// (validation, auth, idempotency, preconditions, limits) are listed on every operation they apply to.
import type { RouteOptions } from 'fastify';
import { Type, type TSchema } from '@fastify/type-provider-typebox';

const DESCRIPTIONS: Record<number, string> = {
  400: 'The request is malformed or fails validation (`errors` lists each field by JSON pointer).',
  401: 'Missing, malformed, revoked or expired credentials.',
  403: 'The credentials lack the permission this operation needs, or the client address is not allowed.',
  404: 'No such resource in the caller\'s account.',
  409: 'A conflicting state, a request with the same Idempotency-Key still running, or `account_pending_deletion` (the account is read-only during its removal grace period).',
  412: 'If-Match does not name the current version of the resource.',
  413: 'The request body is too large.',
  415: 'The request body is not application/json.',
  422: 'The Idempotency-Key was already used with a different request.',
  429: 'Rate limit exceeded; see Retry-After.',
  500: 'An unexpected error; quote the request id.',
};

const SUCCESS: Record<string, string> = { 200: 'OK', 201: 'Created', 202: 'Accepted: the work continues in the background', 204: 'No Content' };

type RouteSchema = {
  hide?: boolean;
  security?: unknown;
  response?: Record<string | number, unknown>;
  headers?: TSchema;
  params?: unknown;
  body?: unknown;
  [key: string]: unknown;
};

export function documentRoute(route: RouteOptions, problem: TSchema) {
  if (route.url.startsWith('/docs')) {
    route.config = { ...(route.config as object), public: true };
    return;
  }
  const schema = route.schema as RouteSchema | undefined;
  if (!schema || schema.hide) return;
  const config = (route.config ?? {}) as { public?: boolean; permission?: string; ifMatch?: boolean; audit?: string | readonly string[] };
  const methods = (Array.isArray(route.method) ? route.method : [route.method]).map(String);
  const isWrite = methods.some((m) => m === 'POST' || m === 'PATCH' || m === 'PUT' || m === 'DELETE');

  schema.security = config.public ? [] : [{ bearerAuth: [] }];
  if (config.permission) schema['x-permission'] = config.permission;
  if (config.audit) schema['x-audit'] = typeof config.audit === 'string' ? [config.audit] : [...config.audit];

  const codes = [400, 429, 500];
  if (!config.public) codes.push(401, 403);
  if (schema.params) codes.push(404);
  if (schema.body) codes.push(413, 415);
  if (methods.includes('POST')) codes.push(409, 422);
  // api/plugins/auth.ts: an account in its removal grace period refuses writes (409 account_pending_deletion).
  if (isWrite && !config.public && !(config as { allowWhilePendingDeletion?: boolean }).allowWhilePendingDeletion) codes.push(409);
  if (config.ifMatch) codes.push(412);

  const response = (schema.response ??= {});
  for (const [code, entry] of Object.entries(response)) {
    const text = SUCCESS[code];
    if (text && entry && typeof entry === 'object' && !('description' in entry)) response[code] = { ...entry, description: text };
  }
  for (const code of codes) {
    if (response[code] !== undefined) continue;
    response[code] = { description: DESCRIPTIONS[code], content: { 'application/problem+json': { schema: problem } } };
  }

  const extraHeaders: Record<string, TSchema> = {};
  if (methods.includes('POST')) {
    extraHeaders['idempotency-key'] = Type.Optional(
      Type.String({
        minLength: 1, maxLength: 255,
        description: config.public
          ? 'Refuses a duplicate while the first request with this key is still running (409). Unauthenticated responses are never stored nor replayed.'
          : 'Makes a retry of this POST safe: the same key and body from the same credential (API key or session) return the first response for 24 hours; another credential is never answered with it.',
      }),
    );
  }
  if (config.ifMatch) {
    extraHeaders['if-match'] = Type.Optional(Type.String({ description: 'The ETag of the version you expect to change; 412 if it is stale.' }));
  }
  if (Object.keys(extraHeaders).length) {
    const existing = (schema.headers as { properties?: Record<string, TSchema> } | undefined)?.properties ?? {};
    schema.headers = Type.Object({ ...existing, ...extraHeaders });
  }
}
