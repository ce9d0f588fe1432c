// The whole database schema, one file per domain under db/schema/. drizzle-kit reads this file
// to generate migrations (`npm run db:generate`).
export * from './schema/accounts.ts';
export * from './schema/tasks.ts';
export * from './schema/activity.ts';
export * from './schema/security.ts';
export * from './schema/snapshots.ts';
export * from './schema/jobs.ts';
export * from './schema/notifications.ts';
export * from './schema/saml.ts';
export * from './schema/lifecycle.ts';
export * from './schema/billing.ts';
export * from './schema/verifications.ts';
export * from './schema/partners.ts';
export * from './schema/shared-state.ts';
export * from './schema/identities.ts';
export * from './schema/billing-options.ts';

export * from './schema/iac.ts';
