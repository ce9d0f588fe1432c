// The SDK's method table is derived from the OpenAPI document: every operation maps to exactly one
// method, a new route is covered without editing the generator, and a collision stops it.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { mapOperations, OVERRIDES } from '../../scripts/sdk-methods.ts';
import { OPERATIONS } from '../../sdk/operations.ts';
import { Coffer } from '../../sdk/client.ts';

const doc = JSON.parse(readFileSync(new URL('../../openapi/openapi.json', import.meta.url), 'utf8'));
const methodsOf = (d: typeof doc) => Object.fromEntries(mapOperations(d).map((s) => [s.id, [...s.namespace, s.name].join('.')]));

t.test('every operation of the document is one method of the client', async (t) => {
  const operationIds = Object.values(doc.paths as Record<string, Record<string, { operationId?: string }>>).flatMap((item) =>
    ['get', 'post', 'put', 'patch', 'delete'].filter((m) => item[m]).map((m) => item[m]!.operationId!));
  const methods = methodsOf(doc);
  t.same(Object.keys(methods).sort(), [...operationIds].sort(), 'each operation has a method');
  t.equal(new Set(Object.values(methods)).size, operationIds.length, 'no two share one');
  t.same(Object.keys(OPERATIONS).sort(), [...operationIds].sort(), 'the committed table is the same');

  const coffer = new Coffer({ baseUrl: 'http://127.0.0.1:9' }) as unknown as Record<string, unknown>;
  for (const [id, path] of Object.entries(methods)) {
    const target = path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)?.[key], coffer);
    t.equal(typeof target, 'function', `coffer.${path} (${id})`);
  }
});

t.test('names follow the URL and the operationId', async (t) => {
  const methods = methodsOf(doc);
  t.match(methods, {
    listTasks: 'tasks.list', createTask: 'tasks.create', getTask: 'tasks.get', updateTask: 'tasks.update', deleteTask: 'tasks.delete',
    reconnectTask: 'tasks.reconnect', cancelJob: 'jobs.cancel', applyEntityAction: 'entities.applyAction',
    revokeApiKey: 'apiKeys.delete', listApiKeys: 'apiKeys.list',
    listSnapshots: 'snapshots.list', getSnapshot: 'snapshots.get', listSnapshotItems: 'items.list', searchItems: 'items.search',
    listNotificationRecipients: 'notifications.recipients.list', createIpAllowlistEntry: 'ipAllowlist.entries.create',
    getInvoice: 'billing.invoices.get', payInvoice: 'billing.invoices.pay', listWebhookDeliveries: 'webhooks.deliveries.list',
    getSecurityPolicy: 'security.getPolicy', getJobSummary: 'jobs.getSummary', getAccount: 'account.get',
    createRestore: 'restores.create', createExport: 'exports.create', listUsers: 'users.list',
  });
  const spec = mapOperations(doc).find((s) => s.id === 'listSnapshots')!;
  t.same(spec.pathParams, [{ name: 'id', arg: 'entityId' }], 'a parent id is named after its parent');
  t.equal(spec.result, 'page');
  t.equal(mapOperations(doc).find((s) => s.id === 'updateTag')!.ifMatch, true);
  t.equal(mapOperations(doc).find((s) => s.id === 'downloadJobResult')!.result, 'response', 'a file comes back as the Response');
});

/** A copy of the document with extra paths. */
const withPaths = (paths: Record<string, unknown>) => ({ ...doc, paths: { ...doc.paths, ...paths } });
const op = (operationId: string, responses: Record<string, unknown> = { 200: { description: 'ok', content: { 'application/json': { schema: { type: 'object' } } } } }, extra: Record<string, unknown> = {}) => ({ operationId, responses, ...extra });
const page = { 200: { description: 'ok', content: { 'application/json': { schema: { type: 'object', properties: { data: { type: 'array' }, next_cursor: { type: 'string' } } } } } } };

t.test('a new resource is covered without touching the generator', async (t) => {
  const methods = methodsOf(withPaths({
    '/v1/widgets': { get: op('listWidgets', page), post: op('createWidget') },
    '/v1/widgets/{id}': { get: op('getWidget'), delete: op('removeWidget', { 204: { description: 'gone' } }) },
    '/v1/widgets/{id}/polish': { post: op('polishWidget') },
    '/v1/widgets/{id}/parts': { get: op('listWidgetParts', page) },
  }));
  t.match(methods, { listWidgets: 'widgets.list', createWidget: 'widgets.create', getWidget: 'widgets.get', removeWidget: 'widgets.delete', polishWidget: 'widgets.polish', listWidgetParts: 'widgets.parts.list' });
});

t.test('the generator refuses what it cannot map', async (t) => {
  t.throws(
    () => mapOperations(withPaths({ '/v1/parts': { get: op('searchParts', page) }, '/v1/widgets/{id}/parts': { get: op('listWidgetParts', page) } })),
    { message: /listWidgetParts and searchParts both map to parts\.list: add an entry to OVERRIDES/ },
    'two operations, one name (what searchItems and listSnapshotItems would do without their override)',
  );
  t.throws(() => mapOperations(withPaths({ '/v1/things': { get: op('') } })), /has no operationId/);
  t.throws(() => mapOperations(withPaths({ '/v1/things': { get: op('getThings', undefined, { parameters: [{ in: 'header', name: 'x-odd', schema: { type: 'string' } }] }) } })), /unsupported header parameter x-odd/);
  t.throws(() => mapOperations(withPaths({ '/v1/get': { get: op('getGet') } })), /namespace get is reserved/);
  const renamed = { ...doc, paths: Object.fromEntries(Object.entries(doc.paths).filter(([p]) => p !== '/v1/items')) };
  t.throws(() => mapOperations(renamed), /OVERRIDES names searchItems/, 'a stale override is reported');
  t.ok(Object.keys(OVERRIDES).length <= 10, 'the override table stays small');
});
