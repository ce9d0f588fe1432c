#!/usr/bin/env bash
# Find a file in the backups by name and restore its latest backed-up version into a new folder
# next to the original (nothing in Dropbox is overwritten); waits for the restore.
#
#   COFFER_API_URL=… COFFER_API_KEY=… ./find-and-restore.sh budget.xlsx
set -euo pipefail
name=${1:-${FILE_NAME:?give a file name}}

# Search results are item versions with the snapshots that hold them, newest first.
item=$(coffer items search --q "$name" --kind file --limit 5 --json |
  jq --arg n "$name" '.data as $d | ([$d[] | select(.name == $n)] + $d)[0] // empty')
[ -n "$item" ] || { echo "nothing named $name in the backups" >&2; exit 4; }
echo "found $(jq -r .path <<<"$item") of $(jq -r .entity_name <<<"$item")"

# --wait follows the job (exit 6 if it fails); --json prints one JSON object a line, the last the summary.
coffer restores create \
  --source.snapshot-id "$(jq -r '.snapshot_ids[0]' <<<"$item")" \
  --source.items "$(jq -r .id <<<"$item")" \
  --destination.mode non_destructive \
  --wait --json | tail -n 1 | jq -r '"restored into \(.job.destination.path) (\(.job.state))"'
