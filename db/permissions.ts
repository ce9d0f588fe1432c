// The permission model of the seed's User Management screen: operations a custom role may be
// granted. An administrator holds all of them. Every route names the one it needs (or none, for
// what any signed-in user may do to their own things), and api/plugins/auth.ts enforces it.
// The vocabulary lives here, at the bottom, because it is also a stored column's type (API key
// scopes, custom roles in db/schema/accounts.ts); api/permissions.ts re-exports it.
export const PERMISSIONS = {
  'account:read': 'View account settings',
  'account:manage': 'Change account settings, remove the account',
  'billing:manage': 'View the billing page and manage payment details',
  'billing:notifications': 'View billing notification messages',
  'activity:read': 'View account activity (system activity and security audit)',
  'notifications:manage': 'Manage notifications and webhooks',
  'backups:read': 'View backups (tasks, entities, snapshots, items)',
  'tasks:create': 'Activate new backup tasks',
  'tasks:modify': 'Modify backup tasks and their entities',
  'tasks:delete': 'Delete backup tasks and entities',
  'tasks:review': 'Review backup tasks: the task overview (entities by status, failing entities, smart alerts)',
  'recovery:restore': 'Restore backed-up data to Dropbox',
  'recovery:export': 'Export and download backed-up data',
  'users:manage': 'Manage users, their permissions and API keys',
  // Needed to mint, rename or revoke a key even for yourself: without it a narrowly scoped key (or
  // a narrow custom role) could mint a fresh credential and hand it to anyone.
  'api_keys:manage': 'Create and revoke your own API keys',
  'security:manage': 'Manage security settings (2FA policy, SAML, IP allowlist)',
  // A partner (an MSP) account's customers; what a partner user may do inside a customer's
  // account is decided by the permissions above (api/plugins/auth.ts).
  'customers:read': 'View a partner\'s customer accounts, their health and usage',
  'customers:manage': 'Create, change and remove customer accounts, invite accounts to become customers, mint keys in them',

  // Its own permission: a state document holds every managed object's attributes, and writing one
  // decides what the next `coffer iac apply` creates or destroys.
  'iac_state:manage': 'Read, write, lock and delete the remote state of `coffer iac`',
} as const;

export type Permission = keyof typeof PERMISSIONS;

export const ALL_PERMISSIONS = Object.keys(PERMISSIONS) as Permission[];

export function isPermission(value: string): value is Permission {
  return Object.hasOwn(PERMISSIONS, value);
}
