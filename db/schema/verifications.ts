// Restore drills: verifications read a sample of an entity's latest snapshot back from storage and
// prove it restores (workers/recovery/verify.ts). Each result carries a summary signed with the
// installation's Ed25519 key, so a customer can keep it as evidence and an auditor can check it
// offline against GET /v1/verification-key.
import { doublePrecision, index, integer, jsonb, pgTable, bigint, text, timestamp } from 'drizzle-orm/pg-core';
import { accounts } from './accounts.ts';

export type VerificationState = 'pending' | 'running' | 'succeeded' | 'failed';

export type VerificationFailureKind =
  | 'missing_block' | 'missing_pack' | 'corrupt_block' | 'size_mismatch' | 'block_list_mismatch' | 'content_hash_mismatch';

/** One thing that would not restore: the file, and the block and pack at fault when there is one. */
export interface VerificationFailure {
  path: string;
  kind: VerificationFailureKind;
  block_hash: string | null;
  pack_id: string | null;
  detail: string;
}

/** The signed summary: `signed_payload` is the exact text signed, so nothing re-serializes it. */
export interface VerificationEvidence {
  signed_payload: string;
  signature: string;
  key_id: string;
  algorithm: 'Ed25519';
}

export const verifications = pgTable(
  'verifications',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    /** No foreign keys: a verification is evidence and outlives the task and entity it names. */
    taskId: text('task_id').notNull(),
    entityId: text('entity_id').notNull(),
    /** The snapshot (backup run) read back: the entity's latest completed one when the verification was asked for. */
    snapshotId: text('snapshot_id').notNull(),
    state: text('state').$type<VerificationState>().notNull(),
    reason: text('reason').$type<'manual' | 'scheduled'>().notNull(),
    samplePercent: doublePrecision('sample_percent').notNull(),
    /** The snapshot the previous completed verification read: files changed since are always checked. */
    baselineSnapshotId: text('baseline_snapshot_id'),
    filesInSnapshot: integer('files_in_snapshot').notNull().default(0),
    filesChanged: integer('files_changed').notNull().default(0),
    filesChecked: integer('files_checked').notNull().default(0),
    filesFailed: integer('files_failed').notNull().default(0),
    blocksChecked: integer('blocks_checked').notNull().default(0),
    bytesChecked: bigint('bytes_checked', { mode: 'number' }).notNull().default(0),
    failures: jsonb('failures').$type<VerificationFailure[]>().notNull().default([]),
    /** Set when the verification could not run to the end (storage unreachable, …): it proves nothing then. */
    error: text('error'),
    evidence: jsonb('evidence').$type<VerificationEvidence>(),
    attempts: integer('attempts').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [index('verifications_account_idx').on(t.accountId, t.id), index('verifications_entity_idx').on(t.entityId, t.id)],
);

/**
 * Secrets of the installation itself (not of an account), created once on first use, e.g. the
 * verification signing key: its private half sealed with the master key, its public half in clear.
 */
export const installationKeys = pgTable('installation_keys', {
  name: text('name').primaryKey(),
  /** keyring.sealSecret(private key PEM, name). */
  sealedPrivateKey: text('sealed_private_key').notNull(),
  publicKeyPem: text('public_key_pem').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
});
