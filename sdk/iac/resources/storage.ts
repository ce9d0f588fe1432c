// coffer_storage: where the account's backups are stored (`/v1/storage`), a singleton: Coffer's
// managed storage in the account's region, or the customer's own S3-compatible bucket. Create and
// update PUT the target (Coffer probes the bucket with the credentials first); destroy returns to
// managed storage. Both are refused once backups exist at the current location (`storage_in_use`).
// The secret access key is write-only: sent, never stored in state; raise
// `secret_access_key_version` to send a new one.
import type { Attributes, CallContext, ResourceType } from '../types.ts';
import { SINGLETON_ID, ifMatch, remote } from './support.ts';

interface TargetBody {
  kind: string; region: string; endpoint: string | null; bucket: string | null; prefix: string | null; force_path_style: boolean | null;
  access_key_id: string | null; verified_at: string | null; has_backups: boolean;
}

const attributes = (s: TargetBody, prior?: Attributes): Attributes => ({
  id: SINGLETON_ID, kind: s.kind, region: s.region, endpoint: s.endpoint, bucket: s.bucket, prefix: s.kind === 's3' ? s.prefix ?? '' : null,
  force_path_style: s.force_path_style, access_key_id: s.access_key_id, verified_at: s.verified_at, has_backups: s.has_backups,
  secret_access_key_version: typeof prior?.secret_access_key_version === 'number' ? prior.secret_access_key_version : null,
});

function body(planned: Attributes): Record<string, unknown> {
  if (planned.kind !== 's3') return { kind: 'managed' };
  const out: Record<string, unknown> = { kind: 's3' };
  for (const k of ['bucket', 'region', 'endpoint', 'prefix', 'force_path_style', 'access_key_id', 'secret_access_key']) {
    if (planned[k] !== undefined && planned[k] !== null) out[k] = planned[k];
  }
  return out;
}

async function put(ctx: CallContext, planned: Attributes, etag: string | undefined) {
  const s = await ctx.client.storage.setTarget(body(planned) as never, { signal: ctx.signal, ...ifMatch(etag) });
  return remote(SINGLETON_ID, attributes(s as TargetBody, planned), s);
}

export const storage: ResourceType = {
  name: 'coffer_storage',
  description: 'Where backups are stored (one per account): `managed`, or `s3` with your own bucket. Destroy returns to managed storage; both are refused once backups exist.',
  schemaVersion: 1,
  attributes: {
    id: { type: 'string', computed: true, description: 'Always `account`.' },
    kind: { type: 'string', required: true, description: '`managed` (Coffer\'s storage) or `s3` (your own bucket).' },
    bucket: { type: 'string', optional: true, description: 'For `s3`: the bucket name.' },
    region: { type: 'string', optional: true, computed: true, description: 'For `s3`: the bucket\'s region; for `managed`, the account\'s region.' },
    endpoint: { type: 'string', optional: true, description: 'For S3-compatible services (MinIO, Wasabi, R2…); omit for AWS S3.' },
    prefix: { type: 'string', optional: true, computed: true, description: 'Key prefix ending in `/` (default none).' },
    force_path_style: { type: 'bool', optional: true, computed: true, description: 'Path-style URLs; default true with an endpoint.' },
    access_key_id: { type: 'string', optional: true, description: 'For `s3`: the access key id.' },
    secret_access_key: { type: 'string', optional: true, sensitive: true, writeOnly: true, description: 'For `s3`: the secret access key. Write-only: never stored in state.' },
    secret_access_key_version: { type: 'number', optional: true, description: 'Raise it to send a new `secret_access_key`.' },
    verified_at: { type: 'string', computed: true, description: 'When Coffer last probed the bucket successfully.' },
    has_backups: { type: 'bool', computed: true, description: 'Backups exist at this location (it can no longer change).' },
  },
  async create(ctx, planned) {
    return put(ctx, planned, undefined);
  },
  async read(ctx, _id, prior) {
    const s = await ctx.client.storage.getTarget({ signal: ctx.signal });
    return remote(SINGLETON_ID, attributes(s as TargetBody, prior), s);
  },
  async update(ctx, _id, planned, _prior, etag) {
    return put(ctx, planned, etag);
  },
  async delete(ctx) {
    await ctx.client.storage.setTarget({ kind: 'managed' }, { signal: ctx.signal });
  },
};
