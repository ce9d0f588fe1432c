// The state document: what the tool manages and the attributes it last saw, per resource instance.
//
//   { "version": 1, "serial": 7, "lineage": "…", "resources": [{ "mode": "managed", "type": "coffer_tag",
//     "name": "prod", "instances": [{ "index_key": "a", "schema_version": 1, "attributes": {…},
//     "dependencies": ["coffer_task.main"] }] }], "outputs": {…}, "pending_creates": [] }
//
// `serial` grows with every write and `lineage` names one state's history, so a saved plan can tell
// that the state moved since it was made. `pending_creates` records a create before it is sent
// (address and Idempotency-Key): if the run dies before the answer is saved, the next run sends the
// same key and the API answers with the object it already created instead of making a second one.
import type { Attributes, ResourceType } from './types.ts';
import { StateError } from './errors.ts';
import { resourceType } from './resources/index.ts';

export const STATE_VERSION = 1;

export type IndexKey = string | number;

export interface InstanceState {
  index_key?: IndexKey;
  schema_version: number;
  attributes: Attributes;
  /** Resources (`type.name`) this one depended on when applied: destroy order when its block is gone. */
  dependencies: string[];
}

export interface ResourceState {
  mode: 'managed';
  type: string;
  name: string;
  instances: InstanceState[];
}

export interface PendingCreate {
  address: string;
  idempotency_key: string;
  started_at: string;
}

export interface State {
  version: number;
  serial: number;
  lineage: string;
  resources: ResourceState[];
  outputs: Record<string, { value: unknown; sensitive: boolean }>;
  pending_creates: PendingCreate[];
}

export function emptyState(): State {
  return { version: STATE_VERSION, serial: 0, lineage: globalThis.crypto.randomUUID(), resources: [], outputs: {}, pending_creates: [] };
}

/** `coffer_tag.t`, `coffer_tag.t[0]`, `coffer_tag.t["a"]` */
export function instanceAddress(type: string, name: string, key?: IndexKey): string {
  return `${type}.${name}${key === undefined ? '' : `[${JSON.stringify(key)}]`}`;
}

export function parseAddress(address: string): { type: string; name: string; key?: IndexKey } {
  const m = /^([a-z][a-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_-]*)(?:\[(\d+|"(?:[^"\\]|\\.)*")\])?$/.exec(address.trim());
  if (!m) throw new StateError(`"${address}" is not a resource address (type.name, type.name[0] or type.name["key"])`);
  return { type: m[1]!, name: m[2]!, ...(m[3] !== undefined ? { key: JSON.parse(m[3]) as IndexKey } : {}) };
}

export interface FlatInstance extends InstanceState {
  address: string;
  type: string;
  name: string;
}

export function instances(state: State): FlatInstance[] {
  return state.resources.flatMap((r) => r.instances.map((i) => ({ ...i, type: r.type, name: r.name, address: instanceAddress(r.type, r.name, i.index_key) })));
}

export function findInstance(state: State, address: string): FlatInstance | undefined {
  return instances(state).find((i) => i.address === address);
}

export function setInstance(state: State, address: string, value: InstanceState | null): void {
  const { type, name, key } = parseAddress(address);
  let res = state.resources.find((r) => r.type === type && r.name === name);
  if (!res) {
    if (!value) return;
    res = { mode: 'managed', type, name, instances: [] };
    state.resources.push(res);
    state.resources.sort((a, b) => (`${a.type}.${a.name}` < `${b.type}.${b.name}` ? -1 : 1));
  }
  const at = res.instances.findIndex((i) => i.index_key === key);
  if (value) {
    const entry = { ...(key !== undefined ? { index_key: key } : {}), schema_version: value.schema_version, attributes: value.attributes, dependencies: value.dependencies };
    if (at >= 0) res.instances[at] = entry;
    else res.instances.push(entry);
  } else if (at >= 0) res.instances.splice(at, 1);
  if (!res.instances.length) state.resources.splice(state.resources.indexOf(res), 1);
}

/**
 * Reads a stored document: checks the format and upgrades each instance's attributes stored by an
 * earlier schema version of its resource type (ResourceType.upgrade), one version at a time.
 */
export function readState(raw: unknown, lookup: (type: string) => ResourceType | undefined = resourceType): State {
  const doc = raw as Partial<State> | null;
  if (!doc || typeof doc !== 'object' || typeof doc.serial !== 'number' || typeof doc.lineage !== 'string' || !Array.isArray(doc.resources)) {
    throw new StateError('the state is not a Coffer state document (version, serial, lineage, resources)');
  }
  if (typeof doc.version !== 'number' || doc.version > STATE_VERSION) {
    throw new StateError(`the state has format version ${String(doc.version)}; this tool reads up to ${STATE_VERSION}: upgrade @coffer/sdk`);
  }
  const state: State = { version: STATE_VERSION, serial: doc.serial, lineage: doc.lineage, resources: [], outputs: doc.outputs ?? {}, pending_creates: doc.pending_creates ?? [] };
  for (const r of doc.resources) {
    const type = lookup(r.type);
    state.resources.push({
      mode: 'managed', type: r.type, name: r.name,
      instances: r.instances.map((i) => {
        let attributes = i.attributes;
        let version = i.schema_version ?? 0;
        if (type && version > type.schemaVersion) throw new StateError(`${instanceAddress(r.type, r.name, i.index_key)} was stored by schema version ${version} of ${r.type}; this tool knows up to ${type.schemaVersion}: upgrade @coffer/sdk`);
        while (type && version < type.schemaVersion) {
          if (!type.upgrade) throw new StateError(`${r.type} cannot upgrade state from schema version ${version}`);
          attributes = type.upgrade(version, attributes);
          version += 1;
        }
        return { ...(i.index_key !== undefined ? { index_key: i.index_key } : {}), schema_version: version, attributes, dependencies: i.dependencies ?? [] };
      }),
    });
  }
  return state;
}
