// The permission model holds together: every permission guards at least one operation of the
// OpenAPI document (a permission that guards nothing misleads whoever grants it), every operation
// that needs one names a known permission, and the Permission schema describes each.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { ALL_PERMISSIONS, PERMISSIONS } from '../../api/permissions.ts';

const doc = JSON.parse(readFileSync(new URL('../../openapi/openapi.json', import.meta.url), 'utf8'));

t.test('every permission guards at least one operation, and each operation names a known one', async (t) => {
  const guarded = new Map<string, string[]>();
  for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      const needed = op['x-permission'];
      if (needed === undefined) continue;
      t.ok(ALL_PERMISSIONS.includes(needed), `${method.toUpperCase()} ${path} needs a known permission (${needed})`);
      guarded.set(needed, [...(guarded.get(needed) ?? []), op.operationId]);
    }
  }
  for (const p of ALL_PERMISSIONS) t.ok(guarded.get(p)?.length, `${p} guards at least one operation`);
});

t.test('the Permission schema lists and describes every permission', async (t) => {
  const schema = doc.components.schemas.Permission;
  t.same(schema.enum, ALL_PERMISSIONS);
  for (const p of ALL_PERMISSIONS) t.match(schema.description, `- \`${p}\`: ${PERMISSIONS[p]}`, `${p} is described`);
  const keyScopes = doc.components.schemas.ApiKeyCreate.properties.scopes.items;
  t.same(keyScopes, { $ref: '#/components/schemas/Permission' }, 'API key scopes are permissions');
});
