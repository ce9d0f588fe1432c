// The Permission schema, shared by users (their permissions) and API keys (their scopes).
import { Type } from '@fastify/type-provider-typebox';
import { ALL_PERMISSIONS, PERMISSIONS } from '../permissions.ts';

export const Permission = Type.Enum(ALL_PERMISSIONS, {
  $id: 'Permission',
  description: 'An operation a custom role may be granted and an API key may be narrowed to; an administrator holds every one. '
    + 'Each operation names the one it needs in `x-permission`.\n\n'
    + ALL_PERMISSIONS.map((p) => `- \`${p}\`: ${PERMISSIONS[p]}`).join('\n'),
});
