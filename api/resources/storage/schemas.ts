import { Type, type Static } from '@fastify/type-provider-typebox';
import { Timestamp } from '../../schemas/common.ts';

const nullable = <T extends ReturnType<typeof Type.String> | ReturnType<typeof Type.Boolean>>(schema: T, description?: string) =>
  Type.Union([schema, Type.Null()], description ? { description } : {});

export const StorageTarget = Type.Object(
  {
    kind: Type.Enum(['managed', 's3', 'gcs', 'azure'], {
      description: '`managed`: Coffer\'s storage in the account\'s region. The account\'s own storage ("bring your own storage"): `s3` an S3-compatible bucket, `gcs` a Google Cloud Storage bucket (through its S3-compatible XML API with an HMAC key), `azure` an Azure Blob Storage container.',
    }),
    region: nullable(Type.String(), 'managed: the account\'s region; s3: the bucket\'s region; gcs, azure: null (the bucket\'s or storage account\'s own location applies).'),
    endpoint: nullable(Type.String(), 's3: the service\'s endpoint URL, null for AWS S3; gcs: the XML API endpoint; azure: the blob service URL.'),
    bucket: nullable(Type.String(), 's3, gcs: the bucket.'),
    container: nullable(Type.String(), 'azure: the container.'),
    account_name: nullable(Type.String(), 'azure: the storage account.'),
    prefix: nullable(Type.String(), 'Where in the bucket or container Coffer\'s objects go (`packs/…` under it).'),
    force_path_style: nullable(Type.Boolean()),
    access_key_id: nullable(Type.String(), 's3: the access key; gcs: the HMAC key\'s access ID. Secrets are never returned.'),
    verified_at: Type.Union([Timestamp(), Type.Null()], { description: 'When Coffer last wrote, read back and deleted a test object there.' }),
    has_backups: Type.Boolean({ description: 'Whether backups are stored: the target cannot change once they are.' }),
  },
  { $id: 'StorageTarget', additionalProperties: false },
);
export type StorageTarget = Static<typeof StorageTarget>;

const prefix = Type.Optional(Type.String({ maxLength: 512, pattern: '^(?:[^/\\\\]+/)*$', description: 'Folder-like key prefix ending in `/`, e.g. `coffer/`; default none.' }));

export const StorageTargetUpdate = Type.Union(
  [
    Type.Object({ kind: Type.Literal('managed') }, { additionalProperties: false }),
    Type.Object(
      {
        kind: Type.Literal('s3'),
        bucket: Type.String({ minLength: 3, maxLength: 63, pattern: '^[a-z0-9][a-z0-9.-]*[a-z0-9]$', examples: ['acme-dropbox-backups'] }),
        region: Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9-]+$', examples: ['eu-west-1'] }),
        endpoint: Type.Optional(Type.String({ maxLength: 2048, format: 'uri', description: 'For S3-compatible services (MinIO, Wasabi, R2…); omit for AWS S3.' })),
        prefix,
        force_path_style: Type.Optional(Type.Boolean({ description: 'Path-style URLs (`endpoint/bucket/key`); default true with an endpoint, false for AWS.' })),
        access_key_id: Type.String({ minLength: 1, maxLength: 256 }),
        secret_access_key: Type.String({ minLength: 1, maxLength: 512, writeOnly: true }),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        kind: Type.Literal('gcs'),
        bucket: Type.String({ minLength: 3, maxLength: 63, pattern: '^[a-z0-9][a-z0-9._-]*[a-z0-9]$', examples: ['acme-dropbox-backups'] }),
        endpoint: Type.Optional(Type.String({ maxLength: 2048, format: 'uri', description: 'The XML API endpoint; default `https://storage.googleapis.com` (a Private Service Connect endpoint, for instance, differs).' })),
        prefix,
        access_key_id: Type.String({ minLength: 1, maxLength: 256, description: 'The access ID of an HMAC key (Cloud Storage → Settings → Interoperability) of a service account that may create, read and delete objects in the bucket.' }),
        secret_access_key: Type.String({ minLength: 1, maxLength: 512, writeOnly: true, description: 'The HMAC key\'s secret.' }),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        kind: Type.Literal('azure'),
        account_name: Type.String({ minLength: 3, maxLength: 24, pattern: '^[a-z0-9]+$', examples: ['acmebackups'] }),
        container: Type.String({ minLength: 3, maxLength: 63, pattern: '^[a-z0-9]+(?:-[a-z0-9]+)*$', examples: ['dropbox-backups'] }),
        endpoint: Type.Optional(Type.String({ maxLength: 2048, format: 'uri', description: 'The blob service URL; default `https://<account_name>.blob.core.windows.net`.' })),
        prefix,
        account_key: Type.Optional(Type.String({ minLength: 1, maxLength: 512, writeOnly: true, description: 'The storage account key. Give this or `sas`.' })),
        sas: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, writeOnly: true, description: 'A shared access signature (query string) that may create, read, delete and list blobs in the container. Give this or `account_key`.' })),
      },
      { additionalProperties: false },
    ),
  ],
  {
    $id: 'StorageTargetUpdate',
    description: 'Where the account\'s backups go. Coffer first writes, reads back and deletes a test object with the credentials given; only a target that passes is saved.',
  },
);
export type StorageTargetUpdate = Static<typeof StorageTargetUpdate>;

export const schemas = [StorageTarget, StorageTargetUpdate];
