// Plans as Terraform prints them: `+` create, `~` update in place, `-/+` replace (with
// `# forces replacement` on the attribute), `-` destroy, `<=` read; `(known after apply)`,
// `(sensitive value)`, and `Plan: N to add, N to change, N to destroy.` — and as JSON (-json).
import type { AttributeSpec } from './types.ts';
import { hclValue } from './hcl-write.ts';
import { isComputedOnly } from './spec.ts';
import { sameValue, summary, type Change, type Plan } from './plan.ts';
import { dataSourceType, resourceType } from './resources/index.ts';
import { UNKNOWN, equal, hasUnknown, type Val } from './values.ts';

const HEADER: Record<string, string> = {
  create: 'will be created',
  update: 'will be updated in-place',
  replace: 'must be replaced',
  delete: 'will be destroyed',
  read: 'will be read during apply',
};
const SYMBOL: Record<string, string> = { create: '  +', update: '  ~', replace: '-/+', delete: '  -', read: ' <=' };

function show(v: unknown, spec: AttributeSpec | undefined, indent: number): string {
  if (v === UNKNOWN || hasUnknown(v)) return '(known after apply)';
  if (spec?.sensitive && v !== null && v !== undefined) return '(sensitive value)';
  return hclValue(v, indent);
}

function attrLines(c: Change, specs: Record<string, AttributeSpec>): string[] {
  const before = (c.before ?? {}) as Record<string, Val>;
  const after = (c.after ?? {}) as Record<string, Val>;
  const names = [...new Set([...Object.keys(specs), ...Object.keys(after)])].filter((k) => !specs[k]?.writeOnly);
  const width = Math.max(0, ...names.map((n) => n.length));
  const lines: string[] = [];
  let hidden = 0;
  for (const k of names) {
    const spec = specs[k];
    const b = before[k] ?? null;
    const a = k in after ? after[k]! : null;
    const name = k.padEnd(width);
    if (c.action === 'create' || c.action === 'read') {
      if (a === null) continue;
      lines.push(`      + ${name} = ${show(a, spec, 8)}`);
    } else if (c.action === 'delete') {
      if (b === null) continue;
      lines.push(`      - ${name} = ${show(b, spec, 8)} -> null`);
    } else if (sameValue(spec, a, b) && a !== UNKNOWN) {
      if (k === 'id') lines.push(`        ${name} = ${show(b, spec, 8)}`);
      else hidden += 1;
    } else {
      const forces = c.replacePaths.includes(k) ? ' # forces replacement' : '';
      if (b === null) lines.push(`      + ${name} = ${show(a, spec, 8)}${forces}`);
      else if (a === null) lines.push(`      - ${name} = ${show(b, spec, 8)} -> null${forces}`);
      else lines.push(`      ~ ${name} = ${show(b, spec, 8)} -> ${show(a, spec, 8)}${forces}`);
    }
  }
  if (hidden) lines.push(`        # (${hidden} unchanged attribute${hidden === 1 ? '' : 's'} hidden)`);
  return lines;
}

function specsOf(c: { mode: string; type: string }): Record<string, AttributeSpec> {
  return (c.mode === 'data' ? dataSourceType(c.type)?.attributes : resourceType(c.type)?.attributes) ?? {};
}

function changeText(c: Change): string {
  const specs = specsOf(c);
  const head = c.mode === 'data' ? `data "${c.type}" "${c.name}"` : `resource "${c.type}" "${c.name}"`;
  const what = c.importId && c.action === 'noop' ? 'will be imported' : c.importId ? `will be imported and ${HEADER[c.action]!.replace('will be ', '')}` : HEADER[c.action]!;
  const reason = c.reason ? `\n  # (because ${c.reason})` : '';
  const sym = c.action === 'noop' ? '   ' : SYMBOL[c.action]!;
  const body = c.action === 'noop' ? [`        id = ${hclValue(c.id)}`] : attrLines(c, specs);
  return `  # ${c.address} ${what}${reason}\n${sym} ${head} {\n${body.join('\n')}\n    }\n`;
}

export function renderPlan(plan: Plan): string {
  const out: string[] = [];
  if (plan.drift.length) {
    out.push('Note: Objects have changed outside of Coffer IaC\n');
    for (const d of plan.drift) {
      if (d.deleted) {
        out.push(`  # ${d.address} has been deleted\n`);
        continue;
      }
      const specs = resourceType(d.type)?.attributes ?? {};
      const changed = Object.keys(specs).filter((k) => !specs[k]!.writeOnly && !isComputedOnly(specs[k]!) && !equal(d.before[k] ?? null, d.after?.[k] ?? null));
      out.push(`  # ${d.address} has changed\n${changed.map((k) => `      ~ ${k} = ${show(d.before[k] ?? null, specs[k], 8)} -> ${show(d.after?.[k] ?? null, specs[k], 8)}`).join('\n')}\n`);
    }
    out.push('');
  }
  if (plan.mode === 'refresh-only') {
    out.push(plan.drift.length ? 'Applying this refresh-only plan records these changes in the state; nothing in Coffer is changed.' : 'No changes. The state matches Coffer.');
    return out.join('\n') + '\n';
  }
  const changes = plan.changes.filter((c) => c.action !== 'noop' || c.importId);
  const outputs = Object.entries(plan.outputs).filter(([k, o]) => !equal(o.value, plan.refreshed.outputs[k]?.value ?? null) || !(k in plan.refreshed.outputs));
  if (!changes.length && !outputs.length) {
    out.push('No changes. Coffer matches the configuration.');
    return out.join('\n') + '\n';
  }
  if (changes.length) {
    out.push('Coffer IaC will perform the following actions:\n');
    for (const c of changes) out.push(changeText(c));
    const s = summary(plan);
    out.push(`Plan: ${s.import ? `${s.import} to import, ` : ''}${s.add} to add, ${s.change} to change, ${s.destroy} to destroy.`);
  }
  if (outputs.length) {
    out.push(`\nChanges to Outputs:`);
    for (const [k, o] of outputs) out.push(`  ${k in plan.refreshed.outputs ? '~' : '+'} ${k} = ${o.sensitive ? '(sensitive value)' : show(o.value, undefined, 4)}`);
  }
  return out.join('\n') + '\n';
}

const masked = (specs: Record<string, AttributeSpec>, attrs: Record<string, unknown> | null) =>
  attrs && Object.fromEntries(Object.entries(attrs).filter(([k]) => !specs[k]?.writeOnly).map(([k, v]) => [k, v === UNKNOWN ? null : specs[k]?.sensitive ? null : v]));

/** The plan as JSON (-json): Terraform's resource_changes shape, sensitive values left out. */
export function planJson(plan: Plan) {
  const actions: Record<string, string[]> = { create: ['create'], update: ['update'], replace: ['delete', 'create'], delete: ['delete'], read: ['read'], noop: ['no-op'] };
  return {
    format_version: '1.0',
    mode: plan.mode,
    resource_changes: plan.changes.map((c) => {
      const specs = specsOf(c);
      const unknown = Object.fromEntries(Object.entries(c.after ?? {}).filter(([, v]) => hasUnknown(v)).map(([k]) => [k, true]));
      const sensitive = Object.fromEntries(Object.keys(specs).filter((k) => specs[k]!.sensitive).map((k) => [k, true]));
      if (c.action === 'replace') for (const k of Object.keys(specs)) if (k === 'id') unknown[k] = true;
      return {
        address: c.address, mode: c.mode, type: c.type, name: c.name, ...(c.key !== undefined ? { index: c.key } : {}),
        ...(c.importId ? { importing: { id: c.importId } } : {}),
        change: {
          actions: actions[c.action],
          before: masked(specs, c.before as Record<string, unknown> | null),
          after: masked(specs, c.after as Record<string, unknown> | null),
          after_unknown: unknown,
          before_sensitive: sensitive,
          after_sensitive: sensitive,
          ...(c.replacePaths.length ? { replace_paths: c.replacePaths.map((p) => [p]) } : {}),
        },
      };
    }),
    resource_drift: plan.drift.map((d) => ({ address: d.address, type: d.type, deleted: d.deleted })),
    output_changes: Object.fromEntries(Object.entries(plan.outputs).map(([k, o]) => [k, { sensitive: o.sensitive, after: o.sensitive || hasUnknown(o.value) ? null : o.value, after_unknown: hasUnknown(o.value) }])),
    summary: summary(plan),
  };
}
