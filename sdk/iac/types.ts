// The contract between the IaC engine (plan, apply, state) and the resource types it manages.
// Each resource type lives in sdk/iac/resources/<name>.ts and talks to Coffer only through the SDK
// client, so the tool runs anywhere the SDK runs.
import type { Coffer } from '../client.ts';

/** Attribute values as they appear in configuration and state (JSON-shaped, like Terraform's). */
export type Value = string | number | boolean | null | Value[] | { [key: string]: Value };
export type Attributes = Record<string, Value>;

export type AttributeType =
  | 'string' | 'number' | 'bool'
  | 'list(string)' | 'set(string)' | 'map(string)'
  | 'list(object)' | 'object';

export interface AttributeSpec {
  type: AttributeType;
  description: string;
  /** Must be set in configuration. */
  required?: boolean;
  /** Set by the API; may also be `optional` (then configuration may set it, else the API's value is kept). */
  computed?: boolean;
  optional?: boolean;
  /** Never printed in plans or output (`(sensitive value)`). */
  sensitive?: boolean;
  /** A change destroys and re-creates the object (`-/+`, `# forces replacement`). */
  forcesReplacement?: boolean;
  /**
   * Sent to the API but never stored in state or plan files (credentials, tokens). A companion
   * `<name>_version` attribute in configuration tells the tool when to send a new value.
   */
  writeOnly?: boolean;
  /** The value when configuration leaves the argument unset (so the API's answer is compared with it, not ignored). */
  default?: Value;
  /** Attributes of each element, for `list(object)` and `object`. */
  attributes?: Record<string, AttributeSpec>;
}

/** What a read returns: the object's attributes as the API reports them, and its ETag when it has one. */
export interface Remote {
  id: string;
  attributes: Attributes;
  etag?: string;
}

export interface CallContext {
  client: Coffer;
  /** Sent as `Idempotency-Key` on the create call, so a retried apply never creates two. */
  idempotencyKey: string;
  /** Give up waiting (e.g. `wait_for_connection`) when this aborts. */
  signal?: AbortSignal;
}

export interface ResourceType {
  /** `coffer_tag` */
  name: string;
  description: string;
  /** Bumped when the stored attributes change shape; `upgrade` brings older state forward. */
  schemaVersion: number;
  attributes: Record<string, AttributeSpec>;
  /** Create from the planned attributes (write-only values included); returns the object as read back. */
  create(ctx: CallContext, planned: Attributes): Promise<Remote>;
  /** The object as it is now, or null when it no longer exists (deleted outside the tool). */
  read(ctx: CallContext, id: string, prior?: Attributes): Promise<Remote | null>;
  /** Change in place, sending `If-Match: etag` so a concurrent change is refused, not overwritten. */
  update?(ctx: CallContext, id: string, planned: Attributes, prior: Attributes, etag: string | undefined): Promise<Remote>;
  delete(ctx: CallContext, id: string, prior: Attributes): Promise<void>;
  /** Turns the id given to `import` (or an `import` block) into the object's id; default: as given. */
  importId?(ctx: CallContext, id: string): Promise<string>;
  /** Upgrades attributes stored by an earlier schema version. */
  upgrade?(fromVersion: number, attributes: Attributes): Attributes;
}

export interface DataSourceType {
  /** `coffer_regions` */
  name: string;
  description: string;
  attributes: Record<string, AttributeSpec>;
  read(ctx: Omit<CallContext, 'idempotencyKey'>, args: Attributes): Promise<Attributes>;
}

/** Where state is kept: a local file or Coffer itself (`GET/PUT /v1/iac/states/{name}`). */
export interface StateBackend {
  /** The stored state document and its version token (null when none exists yet). */
  read(): Promise<{ state: unknown; version: string } | null>;
  /** Writes only if the stored version is still `expected` (null: must not exist yet); else throws a conflict. */
  write(state: unknown, expected: string | null): Promise<string>;
  /** Takes the lock or throws naming who holds it (id, who, when). */
  lock(info: { operation: string; who: string }): Promise<{ id: string }>;
  unlock(id: string): Promise<void>;
  forceUnlock(id: string): Promise<void>;
}
