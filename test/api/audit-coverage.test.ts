// Every write of the API is accounted for in the security audit: it declares the audit event(s)
// it records (`config.audit`, published as `x-audit`) or is listed, with its reason, in the one
// table of writes that are not security-relevant (api/resources/audit/exempt.ts). A new write
// that does neither fails here, so an operation cannot silently escape the audit log.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { AUDIT_EXEMPT } from '../../api/resources/audit/exempt.ts';
import { AUDIT_TYPES } from '../../api/resources/audit/service.ts';

const doc = JSON.parse(readFileSync(new URL('../../openapi/openapi.json', import.meta.url), 'utf8'));

const writes: { id: string; label: string; audit: string[] | undefined }[] = [];
for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
  for (const [method, op] of Object.entries<any>(item)) {
    if (method === 'get' || method === 'head' || method === 'options' || method === 'parameters') continue;
    writes.push({ id: op.operationId, label: `${method.toUpperCase()} ${path} (${op.operationId})`, audit: op['x-audit'] });
  }
}

t.test('every write of the OpenAPI document records an audit event or is exempt with a reason', async (t) => {
  t.ok(writes.length > 50, 'the document has its writes');
  for (const w of writes) {
    const exempt = Object.hasOwn(AUDIT_EXEMPT, w.id);
    t.ok(w.audit !== undefined || exempt, `${w.label} declares its audit event or is exempt`);
    t.notOk(w.audit !== undefined && exempt, `${w.label} is not both audited and exempt`);
  }
});

t.test('every exemption names an existing write and says why', async (t) => {
  const ids = new Set(writes.map((w) => w.id));
  for (const [id, reason] of Object.entries(AUDIT_EXEMPT)) {
    t.ok(ids.has(id), `${id} is a write of the OpenAPI document`);
    t.ok(reason.length >= 30, `${id} has a reason`);
  }
});

t.test('every declared audit event type is a known one', async (t) => {
  for (const w of writes) {
    if (!w.audit) continue;
    t.ok(Array.isArray(w.audit) && w.audit.length > 0, `${w.label} lists its event types`);
    for (const type of w.audit) t.ok((AUDIT_TYPES as readonly string[]).includes(type), `${w.label}: ${type} is in AUDIT_TYPES`);
  }
});
