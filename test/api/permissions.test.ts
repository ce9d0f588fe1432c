// The permission walk: every operation the served OpenAPI document marks with `x-permission` is
// called by a custom-role user holding every permission but that one (403 `permission_denied`,
// before any validation), then by the same user holding it (anything but `permission_denied`).
import t from 'tap';
import { eq } from 'drizzle-orm';
import { startTestApp } from '../helpers/app.ts';
import { startSmtpServer } from '../helpers/smtp.ts';
import { inviteAndConfirm, sessionFor } from '../helpers/security.ts';
import { ALL_PERMISSIONS, isPermission } from '../../api/permissions.ts';
import { users } from '../../db/schema.ts';

interface Operation {
  method: string;
  path: string;
  operationId: string;
  permission: string;
  hasBody: boolean;
}

function concretePath(path: string, op: { parameters?: { in: string; name: string; schema?: { pattern?: string } }[] }): string {
  return path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    const param = op.parameters?.find((p) => p.in === 'path' && p.name === name);
    const prefix = /^\^([a-z]+)_/.exec(param?.schema?.pattern ?? '')?.[1];
    return prefix ? `${prefix}_${'0'.repeat(26)}` : 'x';
  });
}

t.test('every operation with x-permission refuses a user without it and admits a user with it', async (t) => {
  const smtp = await startSmtpServer(t);
  const api = await startTestApp(t, { config: { smtpUrl: smtp.url } });
  const admin = await api.signUp();
  const user = await inviteAndConfirm(api, smtp, admin.key, { permissions: [...ALL_PERMISSIONS] });
  const session = await sessionFor(api, user.email);
  const key = (await api.request('POST', '/v1/api-keys', { key: session, body: { name: 'walker' } })).body.secret as string;

  const spec = (await api.request('GET', '/openapi.json')).body;
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries<Record<string, any>>(spec.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      if (!op['x-permission']) continue;
      operations.push({ method: method.toUpperCase(), path: concretePath(path, op), operationId: op.operationId, permission: op['x-permission'], hasBody: !!op.requestBody });
    }
  }
  t.ok(operations.length >= 20, `${operations.length} operations carry x-permission`);
  for (const id of ['inviteUser', 'listAuditEvents', 'verifyAuditChain', 'updateIpAllowlist', 'createIpAllowlistEntry', 'updateSecurityPolicy', 'getAccount']) {
    t.ok(operations.some((o) => o.operationId === id), `${id} is walked`);
  }

  for (const op of operations) {
    t.ok(isPermission(op.permission), `${op.operationId}: ${op.permission} is a known permission`);
    const body = op.hasBody ? {} : undefined;
    for (const credential of [key, session]) {
      await api.database.db.update(users).set({ permissions: ALL_PERMISSIONS.filter((p) => p !== op.permission) }).where(eq(users.id, user.id));
      const denied = await api.request(op.method, op.path, { key: credential, body });
      t.equal(denied.status, 403, `${op.operationId} without ${op.permission}`);
      t.equal(denied.body?.code, 'permission_denied', `${op.operationId} without ${op.permission}: permission_denied`);

      await api.database.db.update(users).set({ permissions: [op.permission] }).where(eq(users.id, user.id));
      const admitted = await api.request(op.method, op.path, { key: credential, body });
      t.not(admitted.body?.code, 'permission_denied', `${op.operationId} with ${op.permission} passes the permission check (${admitted.status})`);
    }
  }
});
