// Saved plans (`plan -out=FILE`, `apply FILE`): the changes, the variables, and the serial and
// lineage of the state they were made from, so that apply refuses a plan the state has moved past.
// Write-only arguments are never in it, nor are sensitive variables (apply FILE takes them again
// from -var, -var-file or COFFER_VAR_name).
import { readFile, writeFile } from 'node:fs/promises';
import { IacError } from './errors.ts';
import type { Plan } from './plan.ts';
import { UNKNOWN } from './values.ts';

const FORMAT = 'coffer-iac-plan';
const MARK = '__coffer_unknown__';

export async function writePlanFile(path: string, plan: Plan, sensitiveVars: string[]): Promise<void> {
  const variables = Object.fromEntries(Object.entries(plan.variables).filter(([k]) => !sensitiveVars.includes(k)));
  const text = JSON.stringify({ format: FORMAT, version: 1, plan: { ...plan, variables } }, (_k, v: unknown) => (v === UNKNOWN ? { [MARK]: true } : v), 2);
  await writeFile(path, text + '\n', { mode: 0o600 });
}

export async function readPlanFile(path: string): Promise<Plan> {
  let doc: { format?: string; version?: number; plan?: Plan };
  try {
    doc = JSON.parse(await readFile(path, 'utf8'), (_k, v: unknown) => (v && typeof v === 'object' && MARK in v ? UNKNOWN : v)) as typeof doc;
  } catch (err) {
    throw new IacError(`cannot read the saved plan ${path}: ${(err as Error).message}`);
  }
  if (doc.format !== FORMAT || doc.version !== 1 || !doc.plan) throw new IacError(`${path} is not a saved plan of coffer iac`);
  return doc.plan;
}
