// Property-based fuzzing of every operation of the OpenAPI document (openapi/openapi.json): each
// generated request breaks one part the document describes — a path id, a query value, the body
// (by its schema, as malformed JSON, or under another content type), Idempotency-Key, If-Match,
// Accept, the credentials — or is valid-shaped. Every answer must be below 500, every error an
// RFC 9457 problem with `code` and `request_id`, and a refused write must leave the account's rows
// as they were. `FUZZ_SEED` replays a run (the seed is printed); `FUZZ_RUNS` changes the budget.
import fc from 'fast-check';
import type { Test } from 'tap';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { startTestApp, type TestApp, type SignedUp } from './app.ts';
import { accountFingerprint } from './account-rows.ts';
import { dropboxConfig, startDropbox } from './dropbox.ts';
import { brokenArb, validArb, type Schema } from './schema-arbitraries.ts';

export const DOC: Schema = JSON.parse(readFileSync(new URL('../../openapi/openapi.json', import.meta.url), 'utf8'));

export interface Operation {
  method: string;
  path: string;
  operationId: string;
  op: Schema;
  public: boolean;
}

const METHODS = ['get', 'put', 'post', 'patch', 'delete'];

export function operations(doc: Schema = DOC): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries<Schema>(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      out.push({ method: method.toUpperCase(), path, operationId: op.operationId, op, public: Array.isArray(op.security) && op.security.length === 0 });
    }
  }
  return out.sort((a, b) => a.operationId.localeCompare(b.operationId));
}

/** The operations of shard `index` of `count` (files split the document so each stays short). */
export function shard(index: number, count: number): Operation[] {
  return operations().filter((_, i) => i % count === index);
}

export interface FuzzRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: Uint8Array;
  /** Which part was broken and how ('valid' for a valid-shaped request). */
  why: string;
  credential: 'key' | 'session' | 'none' | 'broken';
}

type Parameter = { in: string; name: string; required?: boolean; schema?: Schema };

const ID_PREFIXES = [...new Set(JSON.stringify(DOC).match(/\^([a-z]+)_\[0-9a-z\]\{26\}\$/g)?.map((m) => m.slice(1, m.indexOf('_'))) ?? [])];

const BROKEN_PATH_VALUES = fc.oneof(
  fc.constantFrom(...ID_PREFIXES).map((p) => `${p}_${'0'.repeat(26)}`),
  fc.constantFrom('%00', '%2e%2e', '..%2F..%2Fetc', '%C3%A9', '%ZZ', 'x'.repeat(120), 'KEY_00000000000000000000000000', "'%20or%201=1", 'null', '0', '-1', '%20'),
  fc.string({ minLength: 1, maxLength: 40 }).map(encodeURIComponent),
);
const ACCEPTS = ['text/html', 'application/xml', 'image/png', 'application/json;q=0', 'garbage', 'text/plain, */*;q=0.1', 'application/problem+json', 'text/csv', 'application/pdf', '*/*'];
const CONTENT_TYPES = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'application/json; charset=utf-16',
  'application/vnd.api+json', 'application/jsonx', 'application/json, text/html', '*/*', 'invalid', 'application/xml', null] as const;
const IDEMPOTENCY_KEYS = ['', ' ', 'x'.repeat(256), 'has spaces', 'tab\there', '\u00e9t\u00e9', 'a,b', '\u00ff\u00fe'];
const IF_MATCHES = ['*', 'W/"v1"', '"v"', '"v-1"', '"v1.5"', '"v99999999999999999999999"', 'v1', '"v1", "v2"', '""', 'garbage', '"v0"', '"v1"', '"v9007199254740993"'];
const AUTHORIZATIONS = ['Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'Bearer cfk_invalid', `Bearer cfk_${'0'.repeat(40)}`, 'Bearer ses_x', `Bearer ${'x'.repeat(5000)}`, 'bearer\tcfk_'];
const MALFORMED_JSON = ['{"name":', '', 'null', '[]', '"x"', '1', 'true', '{"a":1}{', '\ufeff{}', '['.repeat(5000) + ']'.repeat(5000), '{"a":'.repeat(2000) + '1' + '}'.repeat(2000),
  '{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"x":1}}}', '{"a":1,"a":2}', '{\'a\':1}', 'NaN', '{"x":1e999999}', '\u0000'];
const MALFORMED_FORM = ['a=%ZZ', '&&&', `state=${'x'.repeat(600)}`, 'state[]=1&state[]=2', '=', '%00=%00'];

const enc = new TextEncoder();
const validIdempotencyKey = fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/);

function formEncode(v: unknown): string {
  if (!v || typeof v !== 'object') return String(v);
  return new URLSearchParams(Object.entries(v).map(([k, x]) => [k, typeof x === 'string' ? x : JSON.stringify(x)])).toString();
}

function queryEntries(name: string, v: unknown): [string, string, raw?: boolean][] {
  if (v === undefined) return [];
  if (Array.isArray(v)) return v.map((x) => [name, typeof x === 'string' ? x : JSON.stringify(x)]);
  return [[name, typeof v === 'string' ? v : JSON.stringify(v)]];
}

interface Parts {
  path: Record<string, string>;
  /** name, value and whether the value goes into the URL as it is (already encoded, or deliberately not). */
  query: [string, string, raw?: boolean][];
  body?: Uint8Array;
  contentType?: string | null;
  headers: Record<string, string>;
  credential: FuzzRequest['credential'];
  why: string;
}

const idPrefix = (schema: Schema | undefined) => /^\^([a-z]+)_\[0-9a-z\]\{26\}\$$/.exec(schema?.pattern ?? '')?.[1];

/**
 * Requests for one operation: valid-shaped, or with exactly one part broken. A valid path id is
 * random or, half the time, one of `known()` (ids of the fuzzed account's own objects, by prefix),
 * so broken bodies also reach the checks behind the lookup of an existing object.
 */
export function requestArb(o: Operation, known: () => Record<string, string[]> = () => ({})): fc.Arbitrary<FuzzRequest> {
  const params: Parameter[] = o.op.parameters ?? [];
  const pathParams = params.filter((p) => p.in === 'path');
  const queryParams = params.filter((p) => p.in === 'query');
  const headerNames = new Set(params.filter((p) => p.in === 'header').map((p) => p.name.toLowerCase()));
  const content = o.op.requestBody?.content as Record<string, { schema?: Schema }> | undefined;
  const bodyType = content ? Object.keys(content)[0]! : undefined;
  const bodySchema = bodyType ? content![bodyType]!.schema : undefined;
  const encodeBody = (v: unknown) => enc.encode(bodyType === 'application/x-www-form-urlencoded' ? formEncode(v) : JSON.stringify(v));

  const validPath = fc.record(Object.fromEntries(pathParams.map((p) => {
    const random = (validArb(DOC, p.schema) as fc.Arbitrary<string>).map((v) => encodeURIComponent(v) || 'x');
    const prefix = idPrefix(p.schema);
    const own = fc.tuple(fc.nat(), random).map(([i, fallback]) => {
      const list = prefix ? known()[prefix] ?? [] : [];
      return list.length ? list[i % list.length]! : fallback;
    });
    return [p.name, fc.oneof(random, own)];
  })));
  const validQuery = fc.tuple(...queryParams.map((p) => (p.required ? validArb(DOC, p.schema) : fc.option(validArb(DOC, p.schema), { nil: undefined })).map((v) => queryEntries(p.name, v))))
    .map((lists) => lists.flat());
  const validBody = bodySchema ? (o.op.requestBody.required ? validArb(DOC, bodySchema) : fc.option(validArb(DOC, bodySchema), { nil: undefined })) : fc.constant(undefined);
  const validHeaders = fc.record({
    ...(headerNames.has('idempotency-key') ? { 'idempotency-key': validIdempotencyKey } : {}),
    ...(headerNames.has('if-match') ? { 'if-match': fc.integer({ min: 0, max: 5 }).map((n) => `"v${n}"`) } : {}),
  }, { requiredKeys: [] }) as fc.Arbitrary<Record<string, string>>;
  const credential: fc.Arbitrary<FuzzRequest['credential']> = o.public ? fc.constant('none') : fc.constantFrom('key', 'session');

  const valid: fc.Arbitrary<Parts> = fc.record({ path: validPath, query: validQuery, body: validBody, headers: validHeaders, credential })
    .map((p) => ({ ...p, body: p.body === undefined ? undefined : encodeBody(p.body), contentType: p.body === undefined ? undefined : bodyType, why: 'valid-shaped' }));

  const breakers: fc.Arbitrary<Parts>[] = [valid];
  const tweak = <T>(arb: fc.Arbitrary<T>, apply: (p: Parts, x: T) => Parts) => breakers.push(fc.tuple(valid, arb).map(([p, x]) => apply({ ...p, headers: { ...p.headers } }, x)));

  for (const p of pathParams) {
    const broken = brokenArb(DOC, p.schema, `/params/${p.name}`);
    const values = broken ? fc.oneof(BROKEN_PATH_VALUES, broken.map((b) => encodeURIComponent(typeof b.value === 'string' ? b.value : JSON.stringify(b.value)))) : BROKEN_PATH_VALUES;
    tweak(values, (parts, v) => ({ ...parts, path: { ...parts.path, [p.name]: v }, why: `path ${p.name} = ${v}` }));
  }
  for (const p of queryParams) {
    const broken = brokenArb(DOC, p.schema, `/query/${p.name}`);
    if (broken) tweak(broken, (parts, b) => ({ ...parts, query: [...parts.query.filter(([k]) => k !== p.name), ...queryEntries(p.name, b.value)], why: b.why }));
    tweak(fc.tuple(validArb(DOC, p.schema), validArb(DOC, p.schema)), (parts, [a, b]) => ({ ...parts, query: [...parts.query, ...queryEntries(p.name, a), ...queryEntries(p.name, b)], why: `query ${p.name} twice` }));
  }
  tweak(fc.constantFrom('%ZZ', '%00', 'x'.repeat(3000), '__proto__'), (parts, v) => ({ ...parts, query: [...parts.query, ['unknown_param', v, true]], why: `unknown query parameter ${v.slice(0, 20)}` }));
  if (bodySchema) {
    const broken = brokenArb(DOC, bodySchema, '/body');
    if (broken) tweak(broken, (parts, b) => ({ ...parts, body: encodeBody(b.value), contentType: bodyType, why: b.why }));
    const raw = bodyType === 'application/json' ? MALFORMED_JSON : MALFORMED_FORM;
    tweak(fc.constantFrom(...raw), (parts, text) => ({ ...parts, body: enc.encode(text), contentType: bodyType, why: `malformed body ${JSON.stringify(text.slice(0, 40))}` }));
    tweak(fc.constant(Uint8Array.from([0xff, 0xfe, 0x7b, 0xc3, 0x28])), (parts, bytes) => ({ ...parts, body: bytes, contentType: bodyType, why: 'body that is not UTF-8' }));
    tweak(fc.tuple(validArb(DOC, bodySchema), fc.constantFrom(...CONTENT_TYPES)), (parts, [v, type]) => ({ ...parts, body: encodeBody(v), contentType: type, why: `body as ${type}` }));
  } else {
    tweak(fc.constantFrom('{"x":1}', 'x=1', '[]'), (parts, text) => ({ ...parts, body: enc.encode(text), contentType: 'application/json', why: `a body the operation does not take: ${text}` }));
  }
  if (headerNames.has('idempotency-key')) tweak(fc.constantFrom(...IDEMPOTENCY_KEYS), (parts, v) => ({ ...parts, headers: { ...parts.headers, 'idempotency-key': v }, why: `Idempotency-Key ${JSON.stringify(v.slice(0, 20))}` }));
  if (headerNames.has('if-match')) tweak(fc.constantFrom(...IF_MATCHES), (parts, v) => ({ ...parts, headers: { ...parts.headers, 'if-match': v }, why: `If-Match ${v.slice(0, 30)}` }));
  tweak(fc.constantFrom(...ACCEPTS), (parts, v) => ({ ...parts, headers: { ...parts.headers, accept: v }, why: `Accept ${v}` }));
  if (!o.public) {
    tweak(fc.constantFrom(...AUTHORIZATIONS), (parts, v) => ({ ...parts, credential: 'broken', headers: { ...parts.headers, authorization: v }, why: `Authorization ${v.slice(0, 30)}` }));
    tweak(fc.constant(null), (parts) => ({ ...parts, credential: 'none', why: 'no credentials' }));
  }

  return fc.oneof(...breakers).map((p) => {
    const path = o.path.replace(/\{(\w+)\}/g, (_, name: string) => p.path[name] ?? 'x');
    const query = p.query.length ? `?${p.query.map(([k, v, raw]) => `${encodeURIComponent(k)}=${raw ? v : encodeURIComponent(v)}`).join('&')}` : '';
    const headers = { ...p.headers };
    if (p.contentType) headers['content-type'] = p.contentType;
    return { method: o.method, url: path + query, headers, body: p.body, why: p.why, credential: p.credential };
  });
}

interface RawResponse {
  status: number;
  contentType: string;
  text: string;
}

/** node:http rather than fetch: fetch refuses a GET with a body and some header values this sends on purpose. */
function send(base: string, req: FuzzRequest, headers: Record<string, string>): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const r = httpRequest(base + req.url, { method: req.method, headers: { ...headers, ...(req.body ? { 'content-length': String(req.body.length) } : {}) } }, (res) => {
      // An accepted event stream stays open for as long as the client listens: its status and
      // headers are the answer, so stop listening at once.
      if (String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type']), text: '' });
        res.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(req.body);
  });
}

export interface FuzzTarget {
  api: TestApp;
  admin: SignedUp;
  session: string;
  /** The account's own objects by id prefix. */
  ids: Record<string, string[]>;
}

const PASSWORD = 'correct horse battery staple';

async function freshTarget(api: TestApp): Promise<FuzzTarget> {
  const admin = await api.signUp({ password: PASSWORD });
  const me = await api.request('GET', '/v1/me', { key: admin.key });
  const signIn = await api.request('POST', '/v1/sessions', { body: { email: me.body.user.email, password: PASSWORD } });
  if (signIn.status !== 201) throw new Error(`sign-in failed: ${signIn.status} ${signIn.text}`);
  // Singletons (settings, policies) get their row of defaults on first read: read each once, so a
  // refused write that reads one first is not mistaken for a change.
  for (const o of operations()) {
    if (o.method === 'GET' && !o.public && !o.path.includes('{')) await api.request('GET', o.path, { key: admin.key });
  }
  // One object of each kind the API creates without outside help, for valid-shaped ids to name.
  const ids: Record<string, string[]> = { usr: [admin.userId] };
  const creations: [string, unknown][] = [
    ['/v1/tags', { name: 'fuzz' }], ['/v1/api-keys', { name: 'fuzz' }], ['/v1/users', { email: `fuzz-${admin.keyId}@example.com`, role: 'custom', permissions: [] }],
    ['/v1/webhooks', { url: 'https://hooks.example.com/fuzz', events: ['ping'] }], ['/v1/tasks', { name: 'fuzz' }],
    ['/v1/notifications/recipients', { email: 'ops@example.com', display_name: 'Ops', types: ['exceptions'] }], ['/v1/ip-allowlist/entries', { cidr: '203.0.113.0/24' }],
  ];
  for (const [path, body] of creations) {
    const res = await api.request('POST', path, { key: admin.key, body });
    if (res.status !== 201) throw new Error(`POST ${path} answered ${res.status}: ${res.text}`);
    const id: string = res.body.id;
    (ids[id.slice(0, id.indexOf('_'))] ??= []).push(id);
  }
  const webhook = ids.whk![0]!;
  const ping = await api.request('POST', `/v1/webhooks/${webhook}/ping`, { key: admin.key });
  if (ping.status === 202) ids.dlv = [ping.body.id];
  return { api, admin, session: signIn.body.token, ids };
}

/** Both credentials still work (a valid-shaped request may have signed out, or removed the account). */
async function stillUsable(target: FuzzTarget): Promise<boolean> {
  const [k, s, a] = await Promise.all([
    target.api.request('GET', '/v1/me', { key: target.admin.key }),
    target.api.request('GET', '/v1/me', { key: target.session }),
    target.api.request('GET', '/v1/account/email-change', { key: target.admin.key }),
  ]);
  const removal = await target.api.request('GET', '/v1/account', { key: target.admin.key });
  return k.status === 200 && s.status === 200 && a.status < 500 && !removal.body?.removal_scheduled_at && removal.body?.state !== 'pending_deletion';
}

export function fuzzSeed(): number {
  return process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
}

function hash(s: string): number {
  let h = 0;
  for (const c of s) h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0;
  return h;
}

/** Fuzzes `ops` against one real app, `runs` requests each; one subtest per operation. */
export async function fuzzOperations(t: Test, ops: Operation[], opts: { runs?: number } = {}) {
  const runs = Number(process.env.FUZZ_RUNS ?? opts.runs ?? 12);
  const seed = fuzzSeed();
  t.comment(`FUZZ_SEED=${seed} FUZZ_RUNS=${runs} (set them to replay this run)`);
  // Dropbox is the emulator: a refresh token or OAuth code in a request is checked as Dropbox would.
  const emu = await startDropbox(t);
  const api = await startTestApp(t, { config: { rateLimitPerMinute: 1_000_000, ...dropboxConfig(emu) } });
  let target = await freshTarget(api);

  for (const o of ops) {
    await t.test(`${o.method} ${o.path} (${o.operationId})`, async (t) => {
      if (!(await stillUsable(target))) target = await freshTarget(api);
      const property = fc.asyncProperty(requestArb(o, () => target.ids), async (req) => {
        const headers: Record<string, string> = { ...req.headers };
        if (req.credential === 'key') headers.authorization = `Bearer ${target.admin.key}`;
        if (req.credential === 'session') headers.authorization = `Bearer ${target.session}`;
        const write = req.method !== 'GET';
        const before = write ? await accountFingerprint(api, target.admin.accountId) : undefined;
        const res = await send(api.url, req, headers);
        const text = res.text;
        await api.settled();
        const sent = req.body ? ` ${headers['content-type'] ?? '(no content-type)'} ${Buffer.from(req.body).toString('utf8').slice(0, 300)}` : '';
        const at = `${req.method} ${req.url.slice(0, 200)}${sent} [${req.why}] → ${res.status} ${text.slice(0, 300)}`;
        if (res.status >= 500) throw new Error(`server error: ${at}`);
        if (res.status >= 400) {
          if (!/^application\/problem\+json/.test(res.contentType)) throw new Error(`error is not application/problem+json (${res.contentType}): ${at}`);
          let body: any;
          try {
            body = JSON.parse(text);
          } catch {
            throw new Error(`problem body is not JSON: ${at}`);
          }
          if (typeof body.code !== 'string' || typeof body.request_id !== 'string') throw new Error(`problem without code or request_id: ${at}`);
          if (body.status !== res.status) throw new Error(`problem status ${body.status} differs from the HTTP status: ${at}`);
          if (before) {
            const after = await accountFingerprint(api, target.admin.accountId);
            const changed = Object.keys({ ...before, ...after }).filter((k) => before[k] !== after[k]);
            if (changed.length) throw new Error(`refused request changed ${changed.join(', ')}: ${at}`);
          }
        }
      });
      const result = await fc.check(property, { seed: seed ^ hash(o.operationId), numRuns: runs, endOnFailure: true });
      if (result.failed) {
        const cause = 'errorInstance' in result ? result.errorInstance : 'too many skipped runs';
        const error = cause instanceof Error ? cause.message : String(cause);
        t.fail(`${error}\n  replay: FUZZ_SEED=${seed} FUZZ_RUNS=${runs}`);
      } else {
        t.pass(`${result.numRuns} requests`);
      }
    });
  }
}
