// Where an account's backups are stored (docs/architecture.md, "Storage format"; seed: the location is chosen
// at setup and cannot change once data is stored; "Bring Your Own Storage"). No row in
// account_storage = the default store of the account's region; a row = the account's own storage
// (an S3-compatible bucket, a Google Cloud Storage bucket or an Azure container), its secret sealed
// under the master key. A target is saved only after
// Coffer wrote, read back and deleted a test object there with the credentials given, so a typo
// is a 422 now rather than failed backups tonight.
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import { accounts, accountStorage, packs } from '../../../db/schema.ts';
import { ApiError, conflict, invalidField } from '../../errors.ts';
import { audit } from '../audit/service.ts';
import { beforeAfter } from '../audit/changes.ts';
import { checkedEndpoint } from './endpoint.ts';
import { storageFailure, storageFailureKind, type StorageFailureKind } from '../../../workers/outbound/clients.ts';
import { accountTarget, AzureDestinationError, sasTarget } from '../../../workers/outbound/azure-destination.ts';
import { GCS_XML_ENDPOINT, ownStore, type OwnStorageSettings } from '../../../workers/backup/storage.ts';
import { S3BlobStore } from '../../../workers/storage/index.ts';
import type { AzureBlobStore } from '../../../workers/storage/azure-store.ts';
import type { StorageTarget, StorageTargetUpdate } from './schemas.ts';
import { checkVersion } from '../../etag.ts';

type Row = typeof accountStorage.$inferSelect;
export const STORAGE_SECRET_CONTEXT = 'storage-secret';

function serialize(region: string, row: Row | undefined, hasBackups: boolean): StorageTarget {
  const none = { endpoint: null, bucket: null, container: null, account_name: null, prefix: null, force_path_style: null, access_key_id: null };
  if (!row) return { kind: 'managed', region, ...none, verified_at: null, has_backups: hasBackups };
  const common = { kind: row.kind, prefix: row.prefix, verified_at: row.verifiedAt.toISOString(), has_backups: hasBackups };
  if (row.kind === 'azure') return { ...none, ...common, region: null, endpoint: row.endpoint, container: row.bucket, account_name: row.accessKeyId };
  if (row.kind === 'gcs') return { ...none, ...common, region: null, endpoint: row.endpoint ?? GCS_XML_ENDPOINT, bucket: row.bucket, force_path_style: true, access_key_id: row.accessKeyId };
  return { ...none, ...common, region: row.region, endpoint: row.endpoint, bucket: row.bucket, force_path_style: row.forcePathStyle, access_key_id: row.accessKeyId };
}

/** The target as the audit log shows it: the sealed secret is there only so that its change shows (masked). */
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

type ProbeStep = 'write' | 'read' | 'delete';
const STEP_TEXT: Record<ProbeStep, string> = { write: 'write a test object to', read: 'read the test object back from', delete: 'delete the test object from' };
const FAILURE_HINT: Record<StorageFailureKind, string> = {
  authentication: 'The credentials were refused: check the key and its secret.',
  not_found: 'It does not exist: check its name (and the endpoint).',
  permission_denied: 'The credentials are valid but may not do this: they must be allowed to create, read, delete and list objects there.',
  refused: 'Coffer does not connect there.',
  unreachable: 'Check the endpoint.',
  other: 'Check the settings, and that the credentials may create, read, delete and list objects there.',
};

/**
 * Writes, reads back and deletes a small object; throws 422 `storage_unreachable` saying which step
 * failed (`failed_step`) and what kind of failure it was (`failure`: authentication, not_found,
 * permission_denied, refused, unreachable, other).
 */
async function probe(store: S3BlobStore | AzureBlobStore, where: string): Promise<void> {
  const key = `coffer-probe/${randomBytes(8).toString('hex')}`;
  const body = randomBytes(32);
  let step: ProbeStep = 'write';
  try {
    await store.put(key, body, body.length);
    step = 'read';
    const back = await store.get(key);
    if (!back.equals(body)) throw new ReadBackDiffers();
    step = 'delete';
    await store.delete([key]);
  } catch (err) {
    const differs = err instanceof ReadBackDiffers;
    const failure: StorageFailureKind = differs ? 'other' : storageFailureKind(err);
    const reason = differs ? err.message : storageFailure(err);
    throw new ApiError(422, 'storage_unreachable', 'Unprocessable Content',
      `Coffer could not ${STEP_TEXT[step]} ${where} (${reason}). ${FAILURE_HINT[failure]}${step === 'delete' ? ` The test object ${store.prefix}${key} is left there.` : ''}`,
      { extra: { failed_step: step, failure } });
  } finally {
    if (store instanceof S3BlobStore) store.client.destroy();
  }
}

class ReadBackDiffers extends Error {
  constructor() {
    super('the object read back differs from the one written');
  }
}

/** The settings to save (secret in the clear) and how the target is named in messages. */
function settingsOf(deps: AppDeps, input: Exclude<StorageTargetUpdate, { kind: 'managed' }>): { settings: OwnStorageSettings; where: string } {
  const prefix = input.prefix ?? '';
  const endpoint = input.endpoint === undefined ? undefined : checkedEndpoint(deps, input.endpoint, '/body/endpoint');
  if (input.kind === 'azure') {
    if ((input.account_key === undefined) === (input.sas === undefined)) throw invalidField('/body/account_key', 'give either account_key or sas');
    try {
      // Parsed strictly here so that a bad name, key or signature is a 400, not a failed probe.
      if (input.sas !== undefined) sasTarget(input.account_name, input.sas, endpoint);
      else accountTarget(input.account_name, input.account_key!, endpoint);
    } catch (err) {
      if (err instanceof AzureDestinationError) throw invalidField(input.sas !== undefined ? '/body/sas' : '/body/account_key', err.message);
      throw err;
    }
    const secret = JSON.stringify(input.sas !== undefined ? { sas: input.sas } : { account_key: input.account_key });
    return {
      settings: { kind: 'azure', endpoint: endpoint ?? `https://${input.account_name}.blob.core.windows.net`, region: '', bucket: input.container, prefix, forcePathStyle: false, accessKeyId: input.account_name, secret },
      where: `container "${input.container}" of storage account "${input.account_name}"`,
    };
  }
  if (input.kind === 'gcs') {
    return {
      settings: { kind: 'gcs', endpoint: endpoint ?? null, region: 'auto', bucket: input.bucket, prefix, forcePathStyle: true, accessKeyId: input.access_key_id, secret: input.secret_access_key },
      where: `bucket "${input.bucket}"`,
    };
  }
  return {
    settings: {
      kind: 's3', endpoint: endpoint ?? null, region: input.region, bucket: input.bucket, prefix, forcePathStyle: input.force_path_style ?? endpoint !== undefined,
      accessKeyId: input.access_key_id, secret: input.secret_access_key,
    },
    where: `bucket "${input.bucket}"`,
  };
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

  const { settings, where } = settingsOf(deps, input);
  await probe(ownStore(deps, settings, { oneOff: true }), where);

  const { secret, ...rest } = settings;
  const values = { ...rest, secretAccessKey: deps.keyring.sealSecret(secret, STORAGE_SECRET_CONTEXT), verifiedAt: now, updatedAt: now };
  const row = await deps.db.transaction(async (tx) => {
    const [saved] = await tx.insert(accountStorage).values({ accountId: ctx.accountId, ...values, version: version + 1, createdAt: now })
      .onConflictDoUpdate({ target: accountStorage.accountId, set: { ...values, version: version + 1 } })
      .returning();
    await audit(deps, ctx, {
      type: 'settings_changed', description: `Backups will be stored in ${where}${settings.endpoint ? ` at ${settings.endpoint}` : ''}`,
      details: { kind: settings.kind, bucket: settings.bucket, region: settings.region, endpoint: settings.endpoint, prefix: settings.prefix, ...beforeAfter(auditView(before.region, before.row), auditView(before.region, saved)) },
    }, tx);
    return saved!;
  });
  return { target: serialize(before.region, row, false), version: row.version };
}
