import t from 'tap';
import { readFileSync } from 'node:fs';
import { startTestApp } from '../helpers/app.ts';

const committed = JSON.parse(readFileSync(new URL('../../openapi/openapi.json', import.meta.url), 'utf8'));

t.test('the served OpenAPI document is the committed one and describes every operation', async (t) => {
  const api = await startTestApp(t);
  const res = await api.request('GET', '/openapi.json');
  t.equal(res.status, 200);
  t.equal(res.body.openapi, '3.1.0');
  delete res.body.info['x-generated'];
  const expected = structuredClone(committed);
  delete expected.info['x-generated'];
  t.same(res.body, expected);
  t.ok(res.body.components.securitySchemes.bearerAuth);

  const operationIds = new Set<string>();
  for (const [path, item] of Object.entries<Record<string, any>>(res.body.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      t.type(op.operationId, 'string', `${method} ${path} has an operationId`);
      t.notOk(operationIds.has(op.operationId), `${op.operationId} is unique`);
      operationIds.add(op.operationId);
      for (const code of ['400', '429', '500']) t.ok(op.responses[code], `${op.operationId} documents ${code}`);
      const isPublic = Array.isArray(op.security) && op.security.length === 0;
      if (!isPublic) {
        t.same(op.security, [{ bearerAuth: [] }]);
        t.ok(op.responses['401'] && op.responses['403'], `${op.operationId} documents 401 and 403`);
      }
      for (const [code, response] of Object.entries<any>(op.responses)) {
        t.type(response.description, 'string', `${op.operationId} ${code} has a description`);
        if (Number(code) >= 400) t.ok(response.content['application/problem+json'], `${op.operationId} ${code} is a problem document`);
      }
      if (method === 'post') t.ok(op.parameters?.some((p: any) => p.name === 'idempotency-key'), `${op.operationId} takes Idempotency-Key`);
    }
  }
  t.ok(operationIds.has('signUp') && operationIds.has('createApiKey'));

  // Every tag an operation uses is described once, and every described tag is used.
  const used = new Set<string>();
  for (const item of Object.values<Record<string, any>>(res.body.paths)) for (const op of Object.values<any>(item)) for (const tag of op.tags ?? []) used.add(tag);
  const described = new Map<string, string>((res.body.tags ?? []).map((tag: { name: string; description: string }) => [tag.name, tag.description]));
  for (const tag of used) t.ok(described.get(tag), `tag ${tag} has a description`);
  for (const tag of described.keys()) t.ok(used.has(tag), `described tag ${tag} is used`);
  t.equal(described.size, (res.body.tags ?? []).length, 'each tag is described once');
  for (const name of ['Problem', 'Account', 'ApiKey', 'ApiKeyList']) t.ok(res.body.components.schemas[name], `component ${name}`);
});

t.test('the interactive docs are served', async (t) => {
  const api = await startTestApp(t);
  const res = await fetch(api.url + '/docs/');
  t.equal(res.status, 200);
  t.match(await res.text(), /swagger/i);
});
