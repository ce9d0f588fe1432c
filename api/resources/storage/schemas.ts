import { Type, type Static } from '@fastify/type-provider-typebox';
import { Timestamp } from '../../schemas/common.ts';

export const StorageTarget = Type.Object(
  {
    kind: Type.Enum(['managed', 's3'], {
      description: '`managed`: Coffer\'s storage in the account\'s region. `s3`: the account\'s own S3-compatible bucket ("bring your own storage").',
    }),
    region: Type.String({ description: 'managed: the account\'s region; s3: the bucket\'s region.' }),
    endpoint: Type.Union([Type.String(), Type.Null()], { description: 's3: the service\'s endpoint URL; null for AWS S3.' }),
    bucket: Type.Union([Type.String(), Type.Null()]),
    prefix: Type.Union([Type.String(), Type.Null()], { description: 's3: where in the bucket Coffer\'s objects go (`packs/…` under it).' }),
    force_path_style: Type.Union([Type.Boolean(), Type.Null()]),
    access_key_id: Type.Union([Type.String(), Type.Null()], { description: 's3: the access key; the secret is never returned.' }),
    verified_at: Type.Union([Timestamp(), Type.Null()], { description: 's3: when Coffer last wrote, read and deleted a test object there.' }),
    has_backups: Type.Boolean({ description: 'Whether backups are stored: the target cannot change once they are.' }),
  },
  { $id: 'StorageTarget', additionalProperties: false },
);
export type StorageTarget = Static<typeof StorageTarget>;

export const StorageTargetUpdate = Type.Union(
  [
    Type.Object({ kind: Type.Literal('managed') }, { additionalProperties: false }),
    Type.Object(
      {
        kind: Type.Literal('s3'),
        bucket: Type.String({ minLength: 3, maxLength: 63, pattern: '^[a-z0-9][a-z0-9.-]*[a-z0-9]$', examples: ['acme-dropbox-backups'] }),
        region: Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9-]+$', examples: ['eu-west-1'] }),
        endpoint: Type.Optional(Type.String({ maxLength: 2048, format: 'uri', description: 'For S3-compatible services (MinIO, Wasabi, R2…); omit for AWS S3.' })),
        prefix: Type.Optional(Type.String({ maxLength: 512, pattern: '^(?:[^/\\\\]+/)*$', description: 'Folder-like key prefix ending in `/`, e.g. `coffer/`; default none.' })),
        force_path_style: Type.Optional(Type.Boolean({ description: 'Path-style URLs (`endpoint/bucket/key`); default true with an endpoint, false for AWS.' })),
        access_key_id: Type.String({ minLength: 1, maxLength: 256 }),
        secret_access_key: Type.String({ minLength: 1, maxLength: 512, writeOnly: true }),
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
