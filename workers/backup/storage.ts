// Where an account's backup data lives and the keys that protect it. The blob store is the account's
// region's location (locations.ts): the region's own bucket, the shared COFFER_S3_BUCKET, or the
// filesystem under `$COFFER_DATA_DIR/blobs`. The account's region and id pick the prefix
// (`<region>/<account id>/packs/…`), so one account's packs can be listed or erased on their own. An account with its own storage (account_storage,
// api/resources/storage) gets that bucket (S3, Google Cloud Storage) or container (Azure) and prefix
// instead. The account's data key is generated on first use and stored wrapped by the master key;
// two workers racing to create it agree on the first one written.
import { join } from 'node:path';
import { regionLocation } from './locations.ts';
import { and, eq, isNull } from 'drizzle-orm';
import type { AppDeps } from '../../api/deps.ts';
import { accounts, accountStorage as accountStorageTable } from '../../db/schema.ts';
import { createBlobStore, S3BlobStore, type BlobStore } from '../storage/index.ts';
import { deriveAccountKeys, type AccountKeys } from '../storage/keys.ts';
import { azureContainer, outbound, s3StoreConnection } from '../outbound/clients.ts';
import { accountTarget, sasTarget } from '../outbound/azure-destination.ts';
import { AzureBlobStore } from '../storage/azure-store.ts';

const stores = new Map<string, BlobStore>();

/** The account's blob store in its region's location (cached per process). */
export function accountBlobStore(deps: Pick<AppDeps, 'config'>, account: { id: string; region: string }): BlobStore {
  const { config } = deps;
  const location = regionLocation(config, account.region);
  const cacheKey = `${location ? `s3:${location.endpoint ?? ''}:${location.bucket}:${location.prefix}` : `fs:${config.dataDir}`}:${account.region}:${account.id}`;
  let store = stores.get(cacheKey);
  if (!store) {
    store = location
      ? createBlobStore({
          kind: 's3',
          bucket: location.bucket,
          region: location.region,
          ...(location.endpoint ? { endpoint: location.endpoint } : {}),
          prefix: `${location.prefix}${account.region}/${account.id}/`,
          accessKeyId: location.accessKeyId,
          secretAccessKey: location.secretAccessKey,
          forcePathStyle: location.forcePathStyle,
        })
      : createBlobStore({ kind: 'fs', root: join(config.dataDir, 'blobs', account.region, account.id) });
    stores.set(cacheKey, store);
  }
  return store;
}

/** The account's keys; creates and stores its wrapped data key on first use (race-safe). */
export async function accountKeys(deps: Pick<AppDeps, 'db' | 'keyring'>, accountId: string): Promise<AccountKeys> {
  const [row] = await deps.db.select({ dataKey: accounts.dataKey }).from(accounts).where(eq(accounts.id, accountId));
  if (!row) throw new Error(`account ${accountId} not found`);
  let wrapped = row.dataKey;
  if (!wrapped) {
    const generated = deps.keyring.generateDataKey();
    const [won] = await deps.db
      .update(accounts)
      .set({ dataKey: generated.wrapped })
      .where(and(eq(accounts.id, accountId), isNull(accounts.dataKey)))
      .returning({ dataKey: accounts.dataKey });
    if (won?.dataKey) wrapped = won.dataKey;
    else {
      const [again] = await deps.db.select({ dataKey: accounts.dataKey }).from(accounts).where(eq(accounts.id, accountId));
      wrapped = again!.dataKey!;
    }
  }
  return deriveAccountKeys(deps.keyring.unwrapDataKey(wrapped));
}

export interface AccountStorage {
  store: BlobStore;
  keys: AccountKeys;
}

export async function accountStorage(deps: Pick<AppDeps, 'db' | 'keyring' | 'config' | 'resolveHost'>, accountId: string): Promise<AccountStorage> {
  const [account] = await deps.db.select({ id: accounts.id, region: accounts.region }).from(accounts).where(eq(accounts.id, accountId));
  if (!account) throw new Error(`account ${accountId} not found`);
  const { store } = await resolveAccountStore(deps, account);
  return { store, keys: await accountKeys(deps, accountId) };
}

/**
 * The account's store and whether it is the account's own bucket (there, Coffer may only touch what
 * it wrote: `packs/`; the rest of the customer's bucket is not ours).
 */
export async function resolveAccountStore(deps: Pick<AppDeps, 'db' | 'keyring' | 'config' | 'resolveHost'>, account: { id: string; region: string }): Promise<{ store: BlobStore; own: boolean }> {
  const [own] = await deps.db.select().from(accountStorageTable).where(eq(accountStorageTable.accountId, account.id));
  return own ? { store: ownBlobStore(deps, own), own: true } : { store: accountBlobStore(deps, account), own: false };
}

/** The account's own bucket or container (cached per process and per version of its settings). */
function ownBlobStore(deps: Pick<AppDeps, 'keyring' | 'config' | 'resolveHost'>, own: typeof accountStorageTable.$inferSelect): BlobStore {
  const cacheKey = `own:${own.accountId}:${own.version}`;
  let store = stores.get(cacheKey);
  if (!store) {
    store = ownStore(deps, { ...own, secret: deps.keyring.openSecret(own.secretAccessKey, 'storage-secret') });
    stores.set(cacheKey, store);
  }
  return store;
}

/** Settings of an account's own storage, its secret in the clear (as account_storage holds them, unsealed). */
export interface OwnStorageSettings {
  kind: 's3' | 'gcs' | 'azure';
  /** s3: null for AWS; gcs: null for storage.googleapis.com; azure: the blob service URL. */
  endpoint: string | null;
  region: string;
  /** s3, gcs: the bucket; azure: the container. */
  bucket: string;
  prefix: string;
  forcePathStyle: boolean;
  /** s3: the access key; gcs: the HMAC access ID; azure: the storage account name. */
  accessKeyId: string;
  /** s3, gcs: the secret key; azure: JSON `{"account_key"}` or `{"sas"}`. */
  secret: string;
}

export const GCS_XML_ENDPOINT = 'https://storage.googleapis.com';

/**
 * A store on a customer's storage. Every connection goes through the guarded lookup (the customer
 * names the endpoint). Google Cloud Storage is reached through its S3-compatible XML API with an
 * HMAC key (docs/stack.md, "Google Cloud Storage"): requests signed with SigV4 for region `auto`,
 * path-style, and no multi-object delete, which that API does not have.
 */
export function ownStore(deps: Pick<AppDeps, 'config' | 'resolveHost'>, own: OwnStorageSettings, opts: { oneOff?: boolean } = {}): S3BlobStore | AzureBlobStore {
  const o = outbound(deps);
  if (own.kind === 'azure') {
    const secret = JSON.parse(own.secret) as { account_key?: string; sas?: string };
    const endpoint = own.endpoint ?? undefined;
    const target = secret.sas !== undefined ? sasTarget(own.accessKeyId, secret.sas, endpoint) : accountTarget(own.accessKeyId, secret.account_key ?? '', endpoint);
    // A one-off store (the save-time probe) keeps no connection open: nothing would close it.
    return new AzureBlobStore({ container: azureContainer(target, own.bucket, o, { keepAlive: !opts.oneOff }), prefix: own.prefix });
  }
  return new S3BlobStore({
    bucket: own.bucket,
    region: own.kind === 'gcs' ? 'auto' : own.region,
    ...(own.endpoint || own.kind === 'gcs' ? { endpoint: own.endpoint ?? GCS_XML_ENDPOINT } : {}),
    prefix: own.prefix,
    accessKeyId: own.accessKeyId,
    secretAccessKey: own.secret,
    forcePathStyle: own.kind === 'gcs' ? true : own.forcePathStyle,
    multiObjectDelete: own.kind !== 'gcs',
    // The customer's endpoint: every connection is checked for where it really goes.
    connection: s3StoreConnection(o),
  });
}
