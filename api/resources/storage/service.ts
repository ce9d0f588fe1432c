// Where an account's backups are stored (docs/architecture.md, "Storage format"; seed: the location is chosen
// at setup and cannot change once data is stored; "Bring Your Own Storage"). No row in
// account_storage = the default store of the account's region; a row = the account's own
// S3-compatible bucket, its secret sealed under the master key. A target is saved only after
// Coffer wrote, read back and deleted a test object there with the credentials given, so a typo
// is a 422 now rather than failed backups tonight.
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import { accounts, accountStorage, packs } from '../../../db/schema.ts';
import { conflict, unprocessable } from '../../errors.ts';
import { audit } from '../audit/service.ts';
import { beforeAfter } from '../audit/changes.ts';
import { checkedEndpoint } from './endpoint.ts';
import { outbound, s3StoreConnection, storageFailure } from '../../../workers/outbound/clients.ts';
import { S3BlobStore } from '../../../workers/storage/index.ts';
import type { StorageTarget, StorageTargetUpdate } from './schemas.ts';
import { checkVersion } from '../../etag.ts';

type Row = typeof accountStorage.$inferSelect;
export const STORAGE_SECRET_CONTEXT = 'storage-secret';

function serialize(region: string, row: Row | undefined, hasBackups: boolean): StorageTarget {
  if (!row) {
    return { kind: 'managed', region, endpoint: null, bucket: null, prefix: null, force_path_style: null, access_key_id: null, verified_at: null, has_backups: hasBackups };
  }
  return {
    kind: 's3', region: row.region, endpoint: row.endpoint, bucket: row.bucket, prefix: row.prefix, force_path_style: row.forcePathStyle,
    access_key_id: row.accessKeyId, verified_at: row.verifiedAt.toISOString(), has_backups: hasBackups,
  };
}

/** The target as the audit log shows it: the sealed secret key is there only so that its change shows (masked). */
function auditView(region: string, row: Row | undefined) {
  const { has_backups: _, verified_at: __, ...target } = serialize(region, row, false);
  return { ...target, secret_access_key: row?.secretAccessKey ?? null };
}

async function load(deps: AppDeps, accountId: string) {
  const [account] = await deps.db.select({ region: accounts.region }).from(accounts).where(eq(accounts.id, accountId));
  const [row] = await deps.db.select().from(accountStorage).where(eq(accountStorage.accountId, accountId));
  const [stored] = await deps.db.select({ id: packs.id }).from(packs).where(eq(packs.accountId, accountId)).limit(1);
  return { region: account!.region, row, hasBackups: stored !== undefined };
}

export async function getTarget(deps: AppDeps, ctx: RequestContext): Promise<{ target: StorageTarget; version: number }> {
  const { region, row, hasBackups } = await load(deps, ctx.accountId);
  return { target: serialize(region, row, hasBackups), version: row?.version ?? 0 };
}

/** Writes, reads back and deletes a small object; throws 422 `storage_unreachable` saying what failed. */
async function probe(store: S3BlobStore, bucket: string): Promise<void> {
  const key = `coffer-probe/${randomBytes(8).toString('hex')}`;
  const body = randomBytes(32);
  let step = 'write a test object to';
  try {
    await store.put(key, body, body.length);
    step = 'read the test object back from';
    const back = await store.get(key);
    if (!back.equals(body)) throw new Error('the object read back differs from the one written');
    step = 'delete the test object from';
    await store.delete([key]);
  } catch (err) {
    const reason = err instanceof Error && err.message === 'the object read back differs from the one written' ? err.message : storageFailure(err);
    throw unprocessable('storage_unreachable', `Coffer could not ${step} bucket "${bucket}" (${reason}). Check the bucket, region, endpoint and credentials, and that the key may put, get and delete objects.`);
  } finally {
    store.client.destroy();
  }
}

export async function setTarget(deps: AppDeps, ctx: RequestContext, input: StorageTargetUpdate, expected: number | undefined): Promise<{ target: StorageTarget; version: number }> {
  const before = await load(deps, ctx.accountId);
  const version = before.row?.version ?? 0;
  checkVersion(expected, version, 'The storage target');
  if (before.hasBackups) {
    throw conflict('storage_in_use', 'Backups are already stored at the current location; it cannot change any more. Contact support to move existing backups.');
  }
  const now = deps.clock.now();
  if (input.kind === 'managed') {
    if (before.row) {
      await deps.db.transaction(async (tx) => {
        await tx.delete(accountStorage).where(eq(accountStorage.accountId, ctx.accountId));
        await audit(deps, ctx, { type: 'settings_changed', description: `Backups will be stored in Coffer's ${before.region} storage`, details: { kind: 'managed', ...beforeAfter(auditView(before.region, before.row), auditView(before.region, undefined)) } }, tx);
      });
    }
    return { target: serialize(before.region, undefined, false), version: 0 };
  }

  const prefix = input.prefix ?? '';
  const endpoint = input.endpoint === undefined ? undefined : checkedEndpoint(deps, input.endpoint, '/body/endpoint');
  const forcePathStyle = input.force_path_style ?? endpoint !== undefined;
  await probe(new S3BlobStore({
    ...(endpoint ? { endpoint } : {}), region: input.region, bucket: input.bucket, prefix, forcePathStyle,
    accessKeyId: input.access_key_id, secretAccessKey: input.secret_access_key, connection: s3StoreConnection(outbound(deps)),
  }), input.bucket);

  const values = {
    kind: 's3' as const, endpoint: endpoint ?? null, region: input.region, bucket: input.bucket, prefix, forcePathStyle,
    accessKeyId: input.access_key_id, secretAccessKey: deps.keyring.sealSecret(input.secret_access_key, STORAGE_SECRET_CONTEXT),
    verifiedAt: now, updatedAt: now,
  };
  const row = await deps.db.transaction(async (tx) => {
    const [saved] = await tx.insert(accountStorage).values({ accountId: ctx.accountId, ...values, version: version + 1, createdAt: now })
      .onConflictDoUpdate({ target: accountStorage.accountId, set: { ...values, version: version + 1 } })
      .returning();
    await audit(deps, ctx, {
      type: 'settings_changed', description: `Backups will be stored in bucket "${input.bucket}"${endpoint ? ` at ${endpoint}` : ''}`,
      details: { kind: 's3', bucket: input.bucket, region: input.region, endpoint: endpoint ?? null, prefix, ...beforeAfter(auditView(before.region, before.row), auditView(before.region, saved)) },
    }, tx);
    return saved!;
  });
  return { target: serialize(before.region, row, false), version: row.version };
}
