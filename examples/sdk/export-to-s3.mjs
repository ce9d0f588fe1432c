// Export the latest snapshot of a user or team folder as a ZIP into your S3 bucket (or any
// S3-compatible store with S3_ENDPOINT) and wait for it. The credentials are stored encrypted by
// Coffer and never returned.
//
//   COFFER_API_URL=… COFFER_API_KEY=… ENTITY_ID=ent_… S3_BUCKET=backups \
//   AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… [S3_REGION=eu-west-1] [S3_ENDPOINT=https://…] node export-to-s3.mjs
import { Coffer } from '@coffer/sdk';

const coffer = new Coffer({ baseUrl: process.env.COFFER_API_URL, apiKey: process.env.COFFER_API_KEY });
const env = process.env;

const [latest] = (await coffer.snapshots.list(env.ENTITY_ID, { limit: 1 })).data;
if (!latest) throw new Error(`${env.ENTITY_ID} has no snapshot yet`);

const job = await coffer.exports.create({
  source: { snapshot_id: latest.id },
  destination: {
    type: 's3',
    bucket: env.S3_BUCKET,
    key: env.S3_KEY ?? `coffer/${env.ENTITY_ID}-${latest.id}.zip`,
    ...(env.S3_REGION ? { region: env.S3_REGION } : {}),
    ...(env.S3_ENDPOINT ? { endpoint: env.S3_ENDPOINT, force_path_style: true } : {}),
    access_key_id: env.AWS_ACCESS_KEY_ID,
    secret_access_key: env.AWS_SECRET_ACCESS_KEY,
  },
});
const done = await coffer.jobs.wait(job.id, { onProgress: (j) => console.log(`${j.state}: ${j.bytes_done}/${j.bytes_total} bytes`) });
console.log(`exported ${done.items_done} files to s3://${done.destination.bucket}/${done.destination.key} (${done.state})`);
