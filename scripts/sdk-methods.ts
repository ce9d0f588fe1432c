// Maps every operation of the OpenAPI document to one SDK method, mechanically, so a new route is
// covered without touching this file:
//
// - The namespace is the URL's plural noun in camelCase: `/v1/tags/{id}` → `tags`. A static segment
//   after a static one nests when it is a collection (`/v1/billing/invoices` → `billing.invoices`);
//   otherwise it names an action or a part of the resource before it (`/v1/me/password`,
//   `/v1/jobs/summary` stay on `me`, `jobs`). After a `{param}`, a collection starts a namespace
//   of its own when the API also has it at the top (`/v1/entities/{id}/snapshots` → `snapshots`),
//   else it nests (`/v1/webhooks/{id}/deliveries` → `webhooks.deliveries`).
//   A segment is a collection when it is followed by a `{param}` somewhere or a GET on it answers
//   a page (`{ data, next_cursor }`).
// - On a collection, GET answering a page is `list`, POST is `create`, and GET / PATCH or PUT /
//   DELETE on `…/{id}` are `get` / `update` / `delete`. Any other operation is named after its
//   operationId without the namespace's nouns: `reconnectTask` → `tasks.reconnect`,
//   `applyEntityAction` → `entities.applyAction`, `getSecurityPolicy` → `security.getPolicy`.
// - OVERRIDES renames the few operations the rules name badly.
//
// The generator fails when two operations get one name, a namespace collides with a method, or an
// operation has a shape the SDK cannot call (a body and a query at once, an unknown header).

import type { OperationSpec } from '../sdk/types.ts';

export type { OperationSpec };
type Json = Record<string, any>;
const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
// Last-Event-ID: the raw event stream takes it in `options.headers` (sdk/events.ts reconnects with it).
// Coffer-Lock-Id: a write to a locked IaC state names its lock in `options.headers` (sdk/iac/backends/remote.ts).
const KNOWN_HEADERS = new Set(['idempotency-key', 'if-match', 'last-event-id', 'coffer-lock-id']);

/** Names the rules get wrong: operationId → namespace and/or method name. */
export const OVERRIDES: Record<string, { namespace?: string[]; name?: string }> = {
  getHealth: { namespace: ['health'], name: 'check' },
  getReadiness: { namespace: ['health'], name: 'ready' },
  searchItems: { name: 'search' }, // `items.list(snapshotId)` lists one snapshot's items
  listJobItems: { namespace: ['jobs'], name: 'items' }, // `jobs.items(jobId)`: what a job wrote
  pingWebhookEndpoint: { name: 'ping' },
  downloadSummaryReport: { name: 'download' },
  dropboxOAuthCallback: { name: 'dropboxCallback' },
  putBillingDetails: { name: 'updateDetails' },
  // The raw Response of the SSE stream; `coffer.events.stream()` (sdk/events.ts) is the iterator.
  streamEvents: { name: 'openStream' },
  createTestEvent: { name: 'trigger' },
};

/** Names the client itself uses, so no namespace may take them. */
const RESERVED = new Set(['get', 'post', 'put', 'patch', 'delete', 'paginate', 'api', 'withAccount', 'options', 'constructor']);


export const camel = (s: string) => s.replace(/[-_]+([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
const pascal = (s: string) => s.charAt(0).toUpperCase() + camel(s).slice(1);
const isParam = (segment: string) => segment.startsWith('{');
const singular = (w: string) => (/ies$/.test(w) ? w.slice(0, -3) + 'y' : /[^s]s$/.test(w) ? w.slice(0, -1) : w);
const words = (id: string) => id.match(/[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+/g) ?? [];

function resolve(doc: Json, schema: Json | undefined): Json | undefined {
  if (schema && typeof schema.$ref === 'string') return doc.components.schemas[schema.$ref.split('/').pop()!];
  return schema;
}

function successes(op: Json): [string, Json][] {
  return Object.entries(op.responses as Json).filter(([code]) => /^[23]\d\d$/.test(code));
}

function resultOf(doc: Json, op: Json): OperationSpec['result'] {
  const ok = successes(op);
  if (ok.some(([code]) => code.startsWith('3'))) return 'response'; // a browser redirect
  const json = ok.map(([, r]) => r.content?.['application/json']?.schema).find(Boolean);
  if (json) return resolve(doc, json)?.properties?.next_cursor ? 'page' : 'json';
  if (ok.some(([, r]) => Object.keys(r.content ?? {}).length > 0)) return 'response';
  return 'none';
}

function segmentsOf(path: string): string[] {
  const segments = path.split('/').filter(Boolean);
  return segments[0] === 'v1' ? segments.slice(1) : segments;
}

/** Removes the first run of `noun`'s words (singular or plural last word) from `ws`. */
function strip(ws: string[], noun: string): string[] {
  const parts = noun.split('-');
  const forms = [parts, [...parts.slice(0, -1), singular(parts.at(-1)!)]];
  for (const form of forms) {
    for (let i = 0; i + form.length <= ws.length; i++) {
      if (form.every((w, j) => ws[i + j]!.toLowerCase() === w.toLowerCase())) return [...ws.slice(0, i), ...ws.slice(i + form.length)];
    }
  }
  return ws;
}

export function mapOperations(doc: Json): OperationSpec[] {
  const all: { path: string; method: (typeof HTTP_METHODS)[number]; op: Json; segments: string[] }[] = [];
  for (const [path, item] of Object.entries(doc.paths as Json)) {
    for (const method of HTTP_METHODS) if (item[method]) all.push({ path, method, op: item[method], segments: segmentsOf(path) });
  }
  const key = (segments: string[]) => segments.join('/');
  const followedByParam = new Set<string>();
  const pageAt = new Set<string>();
  const topLevel = new Set<string>();
  for (const { method, op, segments } of all) {
    topLevel.add(segments[0]!);
    segments.forEach((s, i) => { if (isParam(s) && i > 0) followedByParam.add(key(segments.slice(0, i))); });
    if (method === 'get' && resultOf(doc, op) === 'page') pageAt.add(key(segments));
  }
  const isCollection = (prefix: string[]) => followedByParam.has(key(prefix)) || pageAt.has(key(prefix));

  const specs: OperationSpec[] = [];
  const problems: string[] = [];
  for (const { path, method, op, segments } of all) {
    const id: string = op.operationId;
    if (!id) { problems.push(`${method.toUpperCase()} ${path} has no operationId`); continue; }
    // The namespace: the chain of nouns, and where in the path its last one sits.
    let chain: string[] = [];
    let at = -1;
    for (let i = 0; i < segments.length; i++) {
      const s = segments[i]!;
      if (isParam(s)) continue;
      const prefix = segments.slice(0, i + 1);
      if (i === 0) { chain = [s]; at = 0; continue; }
      if (!isCollection(prefix)) break; // an action or a part of the resource: the chain ends
      if (isParam(segments[i - 1]!)) chain = topLevel.has(s) ? [s] : [...chain, s];
      else chain = [...chain, s];
      at = i;
    }
    const rest = segments.length - at - 1;
    const onCollection = isCollection(segments.slice(0, at + 1));
    const result = resultOf(doc, op);
    let name: string | undefined;
    if (onCollection && rest === 0 && method === 'get' && result === 'page') name = 'list';
    else if (onCollection && rest === 0 && method === 'post') name = 'create';
    else if (onCollection && rest === 1 && isParam(segments.at(-1)!)) name = ({ get: 'get', patch: 'update', put: 'update', delete: 'delete' } as Record<string, string>)[method];
    if (!name) {
      let ws: string[] = words(id);
      for (const noun of [...chain].reverse()) ws = strip(ws, noun);
      name = ws.length ? ws.map((w, i) => (i === 0 ? w.toLowerCase() : w.charAt(0).toUpperCase() + w.slice(1).toLowerCase())).join('') : ({ get: 'get', patch: 'update', put: 'update', delete: 'delete', post: 'create' } as Record<string, string>)[method]!;
    }
    const override = OVERRIDES[id];
    const namespace = override?.namespace ?? chain.map(camel);
    name = override?.name ?? name;

    const params: Json[] = op.parameters ?? [];
    const pathParams = segments.flatMap((s, i) => {
      if (!isParam(s)) return [];
      const param = s.slice(1, -1);
      const owner = segments[i - 1]!;
      const ownNoun = i - 1 === at || camel(owner) === namespace.at(-1);
      return [{ name: param, arg: param === 'id' && !ownNoun ? camel(singular(owner)) + 'Id' : camel(param) }];
    });
    const query = params.filter((p) => p.in === 'query');
    for (const h of params.filter((p) => p.in === 'header')) if (!KNOWN_HEADERS.has(String(h.name).toLowerCase())) problems.push(`${id}: unsupported header parameter ${h.name}`);
    if (query.length && op.requestBody) problems.push(`${id}: both a query and a body`);
    const bodyTypes = Object.keys(op.requestBody?.content ?? {});
    const body = bodyTypes.includes('application/json') ? 'body' : bodyTypes.includes('application/x-www-form-urlencoded') ? 'form' : undefined;
    if (op.requestBody && !body) problems.push(`${id}: a request body neither JSON nor a form (${bodyTypes.join(', ')})`);
    specs.push({
      id,
      method: method.toUpperCase() as OperationSpec['method'],
      path,
      namespace,
      name,
      pathParams,
      input: body ?? (query.length ? 'query' : 'none'),
      inputRequired: body ? op.requestBody.required === true : query.some((p) => p.required),
      result,
      ifMatch: params.some((p) => p.in === 'header' && String(p.name).toLowerCase() === 'if-match'),
      summary: String(op.summary ?? ''),
    });
  }
  for (const id of Object.keys(OVERRIDES)) if (!specs.some((s) => s.id === id)) problems.push(`OVERRIDES names ${id}, which the document does not have`);
  const byName = new Map<string, string>();
  const namespaces = new Set(specs.map((s) => s.namespace.join('.')));
  for (const s of specs) {
    const full = [...s.namespace, s.name].join('.');
    if (byName.has(full)) problems.push(`${s.id} and ${byName.get(full)} both map to ${full}: add an entry to OVERRIDES in scripts/sdk-methods.ts`);
    byName.set(full, s.id);
    if (namespaces.has(full)) problems.push(`${s.id} maps to ${full}, which is also a namespace`);
    if (RESERVED.has(s.namespace[0]!)) problems.push(`${s.id}: namespace ${s.namespace[0]} is reserved by the client`);
    if (!/^[a-z][A-Za-z0-9]*$/.test(s.name) || s.namespace.some((n) => !/^[a-z][A-Za-z0-9]*$/.test(n))) problems.push(`${s.id}: ${full} is not a valid name`);
  }
  if (problems.length) throw new Error(`cannot map the OpenAPI operations to SDK methods:\n  ${problems.join('\n  ')}`);
  return specs;
}

export const className = (namespace: string[]) => namespace.map(pascal).join('');
