// Remote state of the IaC tool (`coffer iac`, backend "coffer"): one row per named state of an
// account, with its lock, and one row per version ever written (the history). The state documents
// are sealed at rest (keyring.sealSecret, context bound to the account and the state's name): they
// hold every managed object's attributes, which may include sensitive computed ones.
import { foreignKey, integer, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { accounts, users } from './accounts.ts';

export const iacStates = pgTable(
  'iac_states',
  {
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** The current version's serial; null while the state is only locked (a first apply takes the lock before writing). */
    serial: integer('serial'),
    lineage: text('lineage'),
    lockId: text('lock_id'),
    lockWho: text('lock_who'),
    lockOperation: text('lock_operation'),
    lockedAt: timestamp('locked_at', { withTimezone: true }),
    lockedBy: text('locked_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.name] })],
);

export const iacStateVersions = pgTable(
  'iac_state_versions',
  {
    accountId: text('account_id').notNull(),
    name: text('name').notNull(),
    serial: integer('serial').notNull(),
    lineage: text('lineage').notNull(),
    /** Bytes of the JSON document as written. */
    size: integer('size').notNull(),
    /** keyring.sealSecret(JSON document, stateSealContext(account, name)). */
    body: text('body').notNull(),
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.accountId, t.name, t.serial] }),
    foreignKey({ columns: [t.accountId, t.name], foreignColumns: [iacStates.accountId, iacStates.name] }).onDelete('cascade'),
  ],
);
