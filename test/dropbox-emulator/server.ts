// Dropbox API v2 emulator: one node:http server routing by path only (route paths are unique across
// api/content/notify hosts), so the SDK can be pointed at it with a fetch that rewrites the origin.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { ApiError, authError, badRequest } from './api-error.ts';
import { SENT, readBody, sendJson, sendText, type CallContext, type EmulatorCore, type RouteSpec } from './call-context.ts';
import { Counters, DATA_TRANSPORT_ROUTES } from './counters.ts';
import { Faults, type FaultRule } from './faults.ts';
import { handleControl } from './control-api.ts';
import { authorize, token, type AppCredentials } from './oauth.ts';
import { TeamState, isTeamAdmin } from './state.ts';
import { UploadSessions } from './upload-sessions.ts';
import { listFolderRoutes } from './list-folder.ts';
import { readRoutes } from './read-routes.ts';
import { uploadRoutes } from './upload-routes.ts';
import { folderRoutes } from './folder-routes.ts';
import { mutationRoutes } from './mutation-routes.ts';
import { teamRoutes } from './team-routes.ts';

export interface EmulatorOptions {
  port?: number;
  host?: string;
  /** When set, /oauth2 requires this client_id. */
  appKey?: string;
  /** When set, /oauth2/token rejects a different client_secret with invalid_client. */
  appSecret?: string;
  accessTokenTtlSeconds?: number;
  /** Milliseconds since epoch; drives token expiry, timestamps and the data-transport month. */
  clock?: () => number;
  teamName?: string;
}

export interface Emulator {
  url: string;
  port: number;
  state: TeamState;
  counters: Counters;
  faults: Faults;
  sessions: UploadSessions;
  close(): Promise<void>;
}

const ROUTES: Record<string, RouteSpec> = { ...teamRoutes, ...listFolderRoutes, ...readRoutes, ...uploadRoutes, ...folderRoutes, ...mutationRoutes };

const SELECT_USER_HELP =
  'This API function operates on a single Dropbox account, but the OAuth 2 access token you provided is for an entire Dropbox Business team.  ' +
  'Since your API app key has team member file access permissions, you can operate on a team member\'s Dropbox by providing the "Dropbox-API-Select-User" HTTP header or "select_user" URL parameter to specify the exact user <https://www.dropbox.com/developers/documentation/http/teams>.';

const RPC_BODY_MAX = 16 * 1024 * 1024;

function parseJsonArg(route: string, text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest(route, `${where}: could not decode input as JSON`);
  }
}

/** Reads the argument the way the route's style dictates; 400 plain text on malformed input. */
async function readArgs(ctx: CallContext, spec: RouteSpec, url: URL): Promise<void> {
  const { req, route } = ctx;
  if (spec.style === 'rpc') {
    const body = await readBody(req, RPC_BODY_MAX);
    if (body === 'too_large') throw badRequest(route, 'request body too large');
    // Void routes: the JS SDK sends no body and no Content-Type; other clients send `null` JSON.
    if (body.length === 0) { ctx.arg = null; return; }
    const type = req.headers['content-type'] ?? '';
    if (!type.startsWith('application/json') && !type.startsWith('text/plain; charset=dropbox-cors-hack')) {
      throw badRequest(route, `Bad HTTP "Content-Type" header: "${type}".  Expecting one of "application/json", "application/json; charset=utf-8", "text/plain; charset=dropbox-cors-hack".`);
    }
    ctx.arg = parseJsonArg(route, body.toString('utf8'), 'request body');
    return;
  }
  const header = req.headers['dropbox-api-arg'];
  const raw = typeof header === 'string' ? header : url.searchParams.get('arg');
  if (raw === null || raw === undefined) throw badRequest(route, 'Must provide HTTP header "Dropbox-API-Arg" or URL parameter "arg".');
  ctx.arg = parseJsonArg(route, raw, 'HTTP header "Dropbox-API-Arg"');
  const type = req.headers['content-type'];
  if (spec.style === 'upload' && type !== undefined && !type.startsWith('application/octet-stream') && !type.startsWith('text/plain; charset=dropbox-cors-hack')) {
    throw badRequest(route, `Bad HTTP "Content-Type" header: "${type}".  Expecting one of "application/octet-stream", "text/plain; charset=dropbox-cors-hack".`);
  }
  const body = await readBody(req, spec.style === 'upload' ? ctx.core.state.limits.requestMaxBytes : RPC_BODY_MAX);
  if (body === 'too_large') throw new ApiError(409, { error_summary: 'payload_too_large/', error: { '.tag': 'payload_too_large' } });
  ctx.body = body;
}

function faultError(rule: FaultRule): ApiError | undefined {
  const retryAfter = rule.retryAfter ?? 1;
  switch (rule.kind) {
    case '429-json':
      return new ApiError(429, { error_summary: 'too_many_requests/..', error: { reason: { '.tag': 'too_many_requests' }, retry_after: retryAfter } }, { 'Retry-After': String(retryAfter) });
    case 'too_many_write_operations':
      return new ApiError(429, { error_summary: 'too_many_write_operations/...', error: { reason: { '.tag': 'too_many_write_operations' }, retry_after: retryAfter } }, { 'Retry-After': String(retryAfter) });
    case '429-text':
      return new ApiError(429, 'Too Many Requests', { 'Retry-After': String(retryAfter) });
    case '500':
      return new ApiError(500, 'Internal Server Error');
    case '503':
      return new ApiError(503, 'Service Unavailable');
    case 'expired-token':
      return authError('expired_access_token');
    default:
      return undefined;
  }
}

/** Bearer token → select header → actor. Throws 400/401 like Dropbox. */
function authenticate(ctx: CallContext, spec: RouteSpec, url: URL): void {
  const { state } = ctx.core;
  const header = ctx.req.headers.authorization;
  const bearer = header ? /^Bearer\s+(\S+)$/i.exec(header)?.[1] : url.searchParams.get('authorization')?.replace(/^Bearer\s+/i, '');
  if (!bearer) throw badRequest(ctx.route, 'Must provide HTTP header "Authorization" or URL parameter "authorization".');
  const tok = state.accessTokens.get(bearer);
  if (!tok || tok.revoked) throw authError('invalid_access_token');
  if (tok.expiresAtMs <= state.clock()) throw authError('expired_access_token');
  ctx.token = tok;
  if (tok.userId) {
    // A user-linked token acts as its account: team routes are not for it, nor are select headers.
    if (spec.auth === 'team') throw new ApiError(400, `Error in call to API function "${ctx.route}": This API function operates on a Dropbox team, but the OAuth 2 access token you provided is for a single Dropbox account.`);
    if (ctx.req.headers['dropbox-api-select-user'] !== undefined || ctx.req.headers['dropbox-api-select-admin'] !== undefined) {
      throw new ApiError(400, `Error in call to API function "${ctx.route}": Dropbox-API-Select-User and Dropbox-API-Select-Admin need a team access token.`);
    }
    ctx.actor = state.member(tok.userId);
    return;
  }
  if (spec.auth !== 'user') return; // team routes ignore select headers (the SDK sends them on every call)
  const selUser = ctx.req.headers['dropbox-api-select-user'];
  const selAdmin = ctx.req.headers['dropbox-api-select-admin'];
  if (typeof selUser === 'string') {
    const m = state.findMember(selUser);
    if (!m || m.teamMemberId !== selUser || m.status === 'removed' || m.status === 'invited') throw authError('invalid_select_user');
    if (m.status === 'suspended') throw authError('user_suspended');
    ctx.actor = m;
  } else if (typeof selAdmin === 'string') {
    const m = state.findMember(selAdmin);
    if (!m || m.teamMemberId !== selAdmin || m.status !== 'active' || !isTeamAdmin(m)) throw authError('invalid_select_admin');
    ctx.actor = m;
    ctx.asAdmin = true;
  } else {
    throw new ApiError(400, SELECT_USER_HELP);
  }
}

async function handleApi(core: EmulatorCore, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const route = url.pathname.slice(3);
  const spec = ROUTES[route];
  const ctx: CallContext = { core, route, req, res, arg: null, body: Buffer.alloc(0), asAdmin: false, truncate: false };
  try {
    if (!spec) { req.resume(); throw new ApiError(404, `Unknown API function: "${route}"`); }
    core.counters.countRoute(route);
    if (req.method !== 'POST' && !(spec.style === 'download' && req.method === 'GET')) {
      req.resume();
      throw new ApiError(405, `Error in call to API function "${route}": Method ${req.method} not allowed`);
    }
    await readArgs(ctx, spec, url);
    const fault = core.faults.take(route);
    if (fault?.kind === 'reset') { req.socket.destroy(); return; }
    if (fault?.kind === 'truncate') ctx.truncate = true;
    const faulted = fault && faultError(fault);
    if (faulted) throw faulted;
    if (core.faults.latencyMs > 0) await new Promise((r) => setTimeout(r, core.faults.latencyMs));
    if (spec.auth !== 'noauth') authenticate(ctx, spec, url);
    const caller = `${ctx.token?.token ?? 'noauth'}|${ctx.actor?.teamMemberId ?? ''}`;
    const limited = core.faults.overRateLimit(caller, core.state.clock());
    if (limited) throw faultError({ kind: limited.kind ?? '429-json', retryAfter: limited.retryAfter })!;
    if (DATA_TRANSPORT_ROUTES.has(route)) {
      const teamId = ctx.token?.teamId ?? core.state.team.id;
      const limit = core.faults.dataTransportLimit;
      if (limit !== undefined && core.counters.dataTransportThisMonth(teamId) >= limit) {
        throw new ApiError(403, {
          error_summary: 'invalid_account_type/feature/.',
          error: { '.tag': 'invalid_account_type', invalid_account_type: { '.tag': 'feature' } },
          user_message: { locale: 'en', text: 'This team has reached its monthly limit of data transport API calls.' },
        });
      }
      core.counters.countDataTransport(teamId);
    }
    const result = await spec.handler(ctx);
    if (result !== SENT && !res.headersSent) sendJson(ctx, 200, result ?? null);
  } catch (e) {
    if (res.headersSent) { res.destroy(); return; }
    if (e instanceof ApiError) {
      if (typeof e.body === 'string') sendText(ctx, e.status, e.body, e.headers);
      else sendJson(ctx, e.status, e.body, e.headers);
      return;
    }
    console.error('[dropbox-emulator]', route, e);
    sendText(ctx, 500, 'Internal Server Error');
  }
}

export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  const state = new TeamState({ teamName: opts.teamName, clock: opts.clock, accessTokenTtlSeconds: opts.accessTokenTtlSeconds });
  const counters = new Counters(state.clock);
  const faults = new Faults();
  const sessions = new UploadSessions(state.ids, state.clock);
  const core: EmulatorCore = { state, counters, faults, sessions, pendingLongpolls: new Set() };
  const app: AppCredentials = { appKey: opts.appKey, appSecret: opts.appSecret };
  const sockets = new Set<Socket>();

  const server = createServer((req, res) => {
    res.setHeader('X-Dropbox-Request-Id', randomBytes(16).toString('hex'));
    const url = new URL(req.url ?? '/', 'http://emulator');
    const path = url.pathname;
    const fail = (e: unknown) => {
      console.error('[dropbox-emulator]', path, e);
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' }).end('Internal Server Error');
      else res.destroy();
    };
    if (path.startsWith('/2/')) { handleApi(core, req, res, url).catch(fail); return; }
    if (path === '/oauth2/authorize' && req.method === 'GET') {
      req.resume();
      try { authorize(state, app, url, res); } catch (e) { fail(e); }
      return;
    }
    if (path === '/oauth2/token' && req.method === 'POST') {
      readBody(req, 1024 * 1024)
        .then((b) => token(state, app, req, url, b === 'too_large' ? Buffer.alloc(0) : b, res))
        .catch(fail);
      return;
    }
    if (path.startsWith('/_emulator/')) {
      readBody(req, 200 * 1024 * 1024)
        .then((b) => handleControl(core, req, url, b === 'too_large' ? Buffer.alloc(0) : b, res))
        .catch(fail);
      return;
    }
    req.resume();
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not Found');
  });
  server.keepAliveTimeout = 5000;
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host ?? '127.0.0.1';

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    state,
    counters,
    faults,
    sessions,
    close: () => new Promise<void>((resolve) => {
      for (const abort of [...core.pendingLongpolls]) abort();
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    }),
  };
}
