// `coffer iac generate -account`: writes the configuration of what an account already holds (a
// resource block and an import block per object), so adopting IaC takes one plan and one apply.
// Each block is written from the same read that plan does, so the import round-trips: the plan
// after the apply is empty.
import type { Coffer } from '../client.ts';
import { generateResourceHcl } from './hcl-write.ts';
import { resourceType } from './resources/index.ts';

function namer() {
  const used = new Set<string>();
  return (type: string, label: string) => {
    let base = label.toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^_+|_+$/g, '') || 'item';
    if (/^[0-9]/.test(base)) base = `_${base}`;
    let name = base;
    for (let i = 2; used.has(`${type}.${name}`); i++) name = `${base}_${i}`;
    used.add(`${type}.${name}`);
    return name;
  };
}

/** HCL for the account's tasks, tags and adopted (active or paused) users and team folders. */
export async function generateAccount(client: Coffer, signal?: AbortSignal): Promise<{ text: string; count: number }> {
  const ctx = { client, idempotencyKey: '', ...(signal ? { signal } : {}) };
  const name = namer();
  const objects: { type: string; label: string; id: string }[] = [];
  for await (const t of client.tasks.list({ limit: 100 } as never, { signal })) objects.push({ type: 'coffer_task', label: (t as { name: string }).name, id: (t as { id: string }).id });
  for await (const t of client.tags.list({ limit: 100 }, { signal })) objects.push({ type: 'coffer_tag', label: t.name, id: t.id });
  for await (const e of client.entities.list({ limit: 100, status: 'active,paused' } as never, { signal })) {
    const x = e as { id: string; name: string; email: string | null };
    objects.push({ type: 'coffer_entity', label: x.email ?? x.name, id: x.id });
  }
  const blocks: string[] = [];
  for (const o of objects) {
    const remote = await resourceType(o.type)!.read(ctx, o.id);
    if (!remote) continue;
    const address = `${o.type}.${name(o.type, o.label)}`;
    blocks.push(`${generateResourceHcl(address, o.id, remote.attributes)}\nimport {\n  to = ${address}\n  id = ${JSON.stringify(o.id)}\n}\n`);
  }
  const header = '# Written by `coffer iac generate -account`: what the account held, with an import block for each\n# object. Review it, then `coffer iac plan` shows the imports and `coffer iac apply` adopts them.\n\n';
  return { text: header + blocks.join('\n'), count: blocks.length };
}
