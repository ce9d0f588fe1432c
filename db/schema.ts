// The whole database schema, one file per domain under db/schema/. drizzle-kit reads this file
// to generate migrations (`npm run db:generate`).
export * from './schema/accounts.ts';
