// Builds the Fastify application (no listen): cross-cutting plugins first, then every resource.
// api/server.ts listens; tests use it over a real socket or with inject().
import { randomBytes } from 'node:crypto';
import AjvCompiler, { type ValidatorFactory } from '@fastify/ajv-compiler';
import fastJsonStringify, { type Options as FastJsonOptions } from 'fast-json-stringify';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AppDeps } from './deps.ts';
import { clientErrorHandler, frameworkErrors, registerErrorHandling } from './plugins/errors.ts';
import { registerAuth } from './plugins/auth.ts';
import { registerThrottle, Throttle } from './plugins/throttle.ts';
import { PgCounterStore } from './rate-counters.ts';
import { registerRateLimit } from './plugins/rate-limit.ts';
import { Background } from './background.ts';
import { registerIdempotency } from './plugins/idempotency.ts';
import { registerNulCheck } from './plugins/nul-characters.ts';
import { registerCors } from './plugins/cors.ts';
import { documentRoute } from './plugins/openapi.ts';
import { serializeRequest } from './request-log.ts';
import { ref, sharedSchemas, Problem } from './schemas/common.ts';
import { resources, resourceSchemas } from './resources/index.ts';

export type App = FastifyInstance;

const REQUEST_ID = /^[\w.:-]{1,64}$/;

/** Random bytes for request ids, drawn 512 ids at a time (one randomBytes call per id showed in profiles). */
const ID_BYTES = 12;
let idPool = Buffer.alloc(0);
let idOffset = 0;
function randomRequestId(): string {
  if (idOffset + ID_BYTES > idPool.length) {
    idPool = randomBytes(ID_BYTES * 512);
    idOffset = 0;
  }
  idOffset += ID_BYTES;
  return `req_${idPool.toString('base64url', idOffset - ID_BYTES, idOffset)}`;
}

type Schemas = Record<string, unknown>;

/** The named schemas a schema reaches through `$ref`, transitively. */
function referenced(schema: unknown, all: Schemas, found = new Map<string, unknown>()): Map<string, unknown> {
  const walk = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') {
        const id = value.split('#')[0]!;
        if (id && !found.has(id) && all[id]) {
          found.set(id, all[id]);
          walk(all[id]);
        }
      } else walk(value);
    }
  };
  walk(schema);
  return found;
}

/**
 * fast-json-stringify validates every external schema it is given, for every route it compiles;
 * with ~200 named schemas and ~200 routes that was 3 s of every start-up (and of every test app).
 * Each serializer gets only the schemas its response actually references.
 */
function serializersWithOwnRefs() {
  return (externalSchemas?: unknown, serializerOpts?: FastJsonOptions) => {
    const all = (externalSchemas ?? {}) as Schemas;
    return (route: { schema?: unknown }): ((doc: unknown) => string) => {
      const refs = Object.fromEntries(referenced(route.schema, all));
      // The same schema compiles to the same function: an app built again in this process (every
      // test file builds several) reuses it instead of paying fast-json-stringify's build again.
      const key = JSON.stringify([route.schema, refs, serializerOpts ?? null]);
      let serialize = compiledSerializers.get(key);
      if (!serialize) {
        serialize = fastJsonStringify(route.schema as never, { ...serializerOpts, schema: refs as FastJsonOptions['schema'] });
        compiledSerializers.set(key, serialize);
      }
      return serialize;
    };
  };
}
const compiledSerializers = new Map<string, (doc: unknown) => string>();

/**
 * Query strings, path parameters and headers arrive as text, so their validator coerces ("25" →
 * 25). JSON bodies are typed already and are validated strictly: coercion would turn `0` into
 * `null` for a nullable number, or `"true"` into `true`, and hide a client's mistake.
 */
function validatorsByPart(): ValidatorFactory {
  return (externalSchemas, options) => {
    const forBody = strict(externalSchemas, options);
    const withCoercion = { ...options, customOptions: { ...options?.customOptions, coerceTypes: 'array' } } as Parameters<ValidatorFactory>[1];
    const forText = coercing(externalSchemas, withCoercion);
    return (route) => (route.httpPart === 'body' ? forBody(route) : forText(route));
  };
}

// Per process, not per app: each keeps one Ajv per set of named schemas and options, so an app
// built again (tests build many) finds the named schemas compiled already.
const strict = AjvCompiler();
const coercing = AjvCompiler();

export const API_DESCRIPTION = `Coffer backs up every member's files and every team folder of a Dropbox team into storage
the customer controls, keeps point-in-time snapshots, and restores or exports any of it.

**Conventions.** JSON bodies in snake_case. Authenticate with \`Authorization: Bearer <api key>\`.
Errors are RFC 9457 problem documents (\`application/problem+json\`) with a stable \`code\` and the
\`request_id\` that every response also carries in \`X-Request-Id\`. Lists take \`limit\` (1–100) and an
opaque \`cursor\` and answer \`{ data, next_cursor }\`. Every POST accepts an \`Idempotency-Key\`
(kept 24 hours: the same key and body replay the first response, the same key with another body is
a 422). Reads return an \`ETag\`; updates accept \`If-Match\` and answer 412 when it is stale. Each API
key is rate-limited (\`RateLimit-Limit\`, \`RateLimit-Remaining\`, \`RateLimit-Reset\`; 429 with
\`Retry-After\`). Sign-in, sign-up and password reset are also limited per client address and per email
address, and refused credentials per client address: past that limit every authenticated request
from the address is a 429 until the window ends.`;

export async function buildApp(deps: AppDeps, opts: { logger?: FastifyBaseLogger } = {}): Promise<App> {
  const app = Fastify({
    // Request URLs are logged with their credentials (link tokens, OAuth codes) redacted.
    ...(opts.logger ? { loggerInstance: opts.logger.child({}, { serializers: { req: serializeRequest }, redact: ['req.headers.authorization', 'req.headers.cookie'] }) } : { logger: false }),
    // One log line per request (below), not Fastify's two: each is a synchronous write to stdout.
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: deps.config.trustProxy,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomRequestId();
    },
    ajv: {
      // Unknown fields are rejected rather than silently dropped: a typo in a setting should fail loudly.
      customOptions: { removeAdditional: false, allErrors: true, coerceTypes: false, useDefaults: true },
    },
    schemaController: { compilersFactory: { buildValidator: validatorsByPart(), buildSerializer: serializersWithOwnRefs() } },
    routerOptions: { ignoreTrailingSlash: true },
    frameworkErrors,
    clientErrorHandler,
  }).withTypeProvider<TypeBoxTypeProvider>();

  // JSON only: a text/plain body is a 415, not a string that fails validation.
  app.removeContentTypeParser('text/plain');

  for (const schema of [...sharedSchemas, ...resourceSchemas]) app.addSchema(schema);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', String(request.id));
  });
  if (opts.logger) {
    app.addHook('onResponse', async (request, reply) => {
      request.log.info({ req: request, res: { statusCode: reply.statusCode }, responseTime: reply.elapsedTime }, 'request completed');
    });
  }
  // 304 for a conditional GET whose ETag still matches.
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.method === 'GET' && reply.statusCode === 200) {
      const etag = reply.getHeader('etag');
      const inm = request.headers['if-none-match'];
      if (etag && inm && inm.split(',').map((s) => s.trim()).includes(String(etag))) {
        reply.code(304);
        return '';
      }
    }
    return payload;
  });

  registerErrorHandling(app);
  // Before authentication: a preflight carries no credentials, and refused requests must still be readable.
  registerCors(app, deps.config.corsOrigins ?? []);
  registerNulCheck(app);

  app.addHook('onRoute', (route) => documentRoute(route, ref(Problem)));
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Coffer API', version: '1.0.0', description: API_DESCRIPTION },
      servers: [{ url: '/' }],
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http', scheme: 'bearer',
            description: 'An API key (`cfk_…`) or a session token (`cfs_…`). A partner\'s credential may add `Coffer-Account: <customer account id>` to act in one of its customers\' accounts with its own permissions (404 `account_not_found` for any other account, 403 `access_revoked` once the customer withdrew the access, 403 `not_a_partner` for any other credential); public operations ignore the header.',
          },
        },
      },
      tags: [
        { name: 'accounts', description: 'Sign-up and the account itself' },
        { name: 'api-keys', description: 'API keys of the signed-in user' },
        { name: 'users', description: 'User Management: invitations, roles and permissions, deactivation' },
        { name: 'sessions', description: 'Sign-in with email, password and TOTP; session tokens' },
        { name: 'passwords', description: 'Password reset by email and password changes' },
        { name: 'me', description: 'The signed-in user\'s own security settings (password, two-factor authentication)' },
        { name: 'security', description: 'The account\'s security policy (enforced 2FA, password expiration)' },
        { name: 'ip-allowlist', description: 'IP restrictions: trusted addresses, ranges and CIDR blocks' },
        { name: 'audit', description: 'The security audit log (append-only, hash-chained), as JSON or CSV' },
        { name: 'saml', description: 'SAML single sign-on (Okta): identity provider settings, SP metadata, SP-initiated sign-in, assertion consumer' },
        { name: 'activity', description: 'System activity: backups, restores, exports and discovery, as JSON or CSV' },
        { name: 'verifications', description: 'Restore drills: a sample of a snapshot read back from storage, with a signed summary as evidence' },
        { name: 'meta', description: 'Health, regions and the API description' },
        { name: 'tasks', description: 'Backup tasks: one Dropbox team connection each, its schedule and settings; pause, resume and the overview' },
        { name: 'entities', description: 'The users and team folders of a task: activate, pause, back up now, delete, tag; the usage report as CSV' },
        { name: 'tags', description: 'Labels for grouping entities' },
        { name: 'snapshots', description: 'Point-in-time snapshots of an entity, browsing them, item versions, every backup run and the per-day history' },
        { name: 'notifications', description: 'Notification settings and recipients, summary reports, smart-alert thresholds' },
        { name: 'webhooks', description: 'Webhook endpoints, their signed deliveries and retries' },
        { name: 'events', description: 'The account\'s events (what webhooks carry), kept 30 days: listed, and streamed as Server-Sent Events' },
        { name: 'recovery', description: 'Item search, restores to Dropbox, exports (download or your own storage) and the jobs that run them' },
        { name: 'billing', description: 'Plans, subscription, billing details, payment methods, usage, invoices and payments' },
        { name: 'storage', description: 'Where the account\'s backups are stored: the region\'s default or your own bucket' },
        { name: 'partner', description: 'A partner\'s roll-ups over its customers: health and usage, each in one request, as JSON or CSV' },
        { name: 'customers', description: 'Partners (MSPs): their customer accounts, invitations to become one, and keys minted in them' },
        { name: 'iac', description: 'State of `coffer iac` kept by Coffer itself: versioned, locked while a run writes it, sealed at rest' },
      ],
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  // Mail and other work requests leave behind finish before the app (and its database) closes.
  const background = (deps.background ??= new Background(app.log));
  app.addHook('onClose', () => background.settled());

  // Counters live in PostgreSQL so that every API replica counts against the same limits.
  const throttle = new Throttle(new PgCounterStore(deps.sql), deps.clock, deps.config.rateLimits);
  registerThrottle(app, throttle);
  await registerAuth(app, deps, throttle);
  registerRateLimit(app, throttle, deps.config.rateLimitPerMinute, deps.clock);
  registerIdempotency(app, deps);

  for (const resource of resources) await app.register(resource(deps));
  return app;
}
