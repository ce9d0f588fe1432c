// What the admin resource types share: turning an SDK answer into a Remote, "gone" into null, and
// configuration values into request bodies. Sets are sorted so a read never differs from the
// configuration by order alone (no perpetual drift).
import { NotFoundError } from '../../errors.ts';
import type { Attributes, Remote, Value } from '../types.ts';

/** The ETag an SDK result arrived with. */
export function etagOf(result: unknown): string | undefined {
  return (result as { lastResponse?: { etag?: string } } | null)?.lastResponse?.etag;
}

export function remote(id: string, attributes: Attributes, from: unknown): Remote {
  const etag = etagOf(from);
  return { id, attributes, ...(etag ? { etag } : {}) };
}

/** The read of an object deleted outside the tool: null, as ResourceType.read promises. */
export async function orNull<T>(read: () => Promise<T>): Promise<T | null> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof NotFoundError) return null;
    throw err;
  }
}

/** A delete of something already gone succeeds: the goal (it does not exist) is reached. */
export async function ignoreMissing(run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
}

export function sortedSet(values: readonly string[] | null | undefined): string[] {
  return [...new Set(values ?? [])].sort();
}

/** The attributes that are set (not null, not absent), for a create body that leaves the rest to the API. */
export function setOnly(planned: Attributes, keys: readonly string[]): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const k of keys) if (planned[k] !== undefined && planned[k] !== null) out[k] = planned[k]!;
  return out;
}

/** The attributes that changed since `prior` (null included: it clears), for a PATCH body. */
export function changed(planned: Attributes, prior: Attributes, keys: readonly string[]): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const k of keys) {
    if (planned[k] === undefined) continue;
    if (JSON.stringify(planned[k]) !== JSON.stringify(prior[k])) out[k] = planned[k]!;
  }
  return out;
}

export const ifMatch = (etag: string | undefined) => (etag ? { ifMatch: etag } : {});

/** Settings-style singletons have one object per account; its id in state is this constant. */
export const SINGLETON_ID = 'account';
