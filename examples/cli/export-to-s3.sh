#!/usr/bin/env bash
# Export the latest snapshot of a user or team folder as a ZIP into your S3 bucket (or any
# S3-compatible store with S3_ENDPOINT) and wait for it. Coffer stores the keys encrypted and
# never returns them.
#
#   COFFER_API_URL=… COFFER_API_KEY=… S3_BUCKET=backups AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… \
#   [S3_REGION=eu-west-1] [S3_ENDPOINT=https://…] ./export-to-s3.sh ent_…
set -euo pipefail
entity=${1:-${ENTITY_ID:?give an entity id}}

snapshot=$(coffer snapshots list "$entity" --limit 1 --json | jq -r '.data[0].id // empty')
[ -n "$snapshot" ] || { echo "$entity has no snapshot yet" >&2; exit 4; }

# The body as JSON (--data), built with jq so no value needs shell quoting; --wait shows progress.
jq -n --arg snapshot "$snapshot" --arg entity "$entity" '{
  source: { snapshot_id: $snapshot },
  destination: ({
    type: "s3", bucket: env.S3_BUCKET, key: (env.S3_KEY // "coffer/\($entity)-\($snapshot).zip"),
    access_key_id: env.AWS_ACCESS_KEY_ID, secret_access_key: env.AWS_SECRET_ACCESS_KEY
  } + (if env.S3_REGION then { region: env.S3_REGION } else {} end)
    + (if env.S3_ENDPOINT then { endpoint: env.S3_ENDPOINT, force_path_style: true } else {} end))
}' > "${TMPDIR:-/tmp}/coffer-export-$$.json"
trap 'rm -f "${TMPDIR:-/tmp}/coffer-export-$$.json"' EXIT
coffer exports create --data @"${TMPDIR:-/tmp}/coffer-export-$$.json" --wait
