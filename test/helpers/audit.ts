// Reading what an operation wrote to the security audit log, and what the OpenAPI document says it
// writes (`x-audit`), for the tests that perform audited operations.
import { readFileSync } from 'node:fs';
import type { TestApp } from './app.ts';

const doc = JSON.parse(readFileSync(new URL('../../openapi/openapi.json', import.meta.url), 'utf8'));

/** The event types the operation declares (`x-audit`). */
export function declaredAudit(operationId: string): string[] {
  for (const item of Object.values<Record<string, any>>(doc.paths)) {
    for (const op of Object.values<any>(item)) if (op.operationId === operationId) return op['x-audit'] ?? [];
  }
  throw new Error(`no operation ${operationId}`);
}

/** Every audit event of the caller's account, oldest first. */
export async function auditEvents(api: TestApp, key: string): Promise<any[]> {
  const res = await api.request('GET', '/v1/audit?limit=100', { key });
  if (res.status !== 200) throw new Error(`GET /v1/audit: ${res.status} ${res.text}`);
  return [...res.body.data].reverse();
}

/** Performs a request and answers it with the audit events it added. */
export async function audited(api: TestApp, key: string, run: () => Promise<{ status: number; text: string }>) {
  const before = (await auditEvents(api, key)).length;
  const response = await run();
  const events = (await auditEvents(api, key)).slice(before);
  return { response, events };
}
