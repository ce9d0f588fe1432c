// Reading attribute specs (types.ts): which attributes configuration may set.
import type { AttributeSpec } from './types.ts';

/** Set by Coffer only: configuration cannot set it and a plan never diffs it. */
export function isComputedOnly(spec: AttributeSpec): boolean {
  return !!spec.computed && !spec.optional && !spec.required;
}
