// Where each region's backups are stored. A region's own location (COFFER_REGION_<ID>_S3_BUCKET and
// its siblings) holds only that region's accounts, so choosing a region at sign-up decides where the
// data lives. A region without one uses the shared bucket (COFFER_S3_BUCKET) when there is one, and
// is not offered at all when there is none; with no S3 configured anywhere, every region is stored
// on the filesystem (development and single-machine installs: one disk, whatever the region).
// Keys keep one layout everywhere, `<prefix><region>/<account id>/packs/…`, so moving a region's
// prefix out of the shared bucket into its own bucket (with the same prefix) is a plain copy.

export interface S3LocationConfig {
  bucket: string;
  /** The bucket's own (signing) region. */
  region: string;
  /** S3-compatible services (MinIO, s3rver); unset = AWS. */
  endpoint: string | undefined;
  /** Key prefix inside the bucket; the account's region and id are appended. */
  prefix: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
}

export interface LocationsConfig {
  /** The shared bucket (COFFER_S3_BUCKET). */
  s3: S3LocationConfig | undefined;
  /** Each region's own bucket, by region id. */
  storageLocations?: Readonly<Record<string, S3LocationConfig>>;
}

/** The region's S3 location, or undefined when its backups go to the filesystem. */
export function regionLocation(config: LocationsConfig, region: string): S3LocationConfig | undefined {
  return config.storageLocations?.[region] ?? config.s3;
}

/** Whether accounts may be created in the region: it has a location (or nothing uses S3 at all). */
export function regionOffered(config: LocationsConfig, region: string): boolean {
  const anyS3 = config.s3 !== undefined || Object.keys(config.storageLocations ?? {}).length > 0;
  return !anyS3 || regionLocation(config, region) !== undefined;
}

/** What a region's storage is, as GET /v1/regions tells it. */
export function regionStorage(config: LocationsConfig, region: string): 'dedicated' | 'shared' | 'filesystem' {
  if (config.storageLocations?.[region]) return 'dedicated';
  return config.s3 ? 'shared' : 'filesystem';
}
