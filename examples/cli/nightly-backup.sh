#!/usr/bin/env bash
# Nightly: back up every active user and team folder now (or only the ids given as arguments) and
# wait for each run; exit non-zero if one failed. For cron or CI:
#
#   COFFER_API_URL=… COFFER_API_KEY=… ./nightly-backup.sh [ent_… …]
set -euo pipefail

if [ $# -gt 0 ]; then ids=("$@"); else
  # --all --json: every page as one JSON array.
  mapfile -t ids < <(coffer entities list --status active --all --json | jq -r '.[].id')
fi

status=0
for id in "${ids[@]}"; do
  # Backs up now and follows the run: a progress bar on a terminal; exit 6 if the run fails,
  # 5 if the entity cannot be backed up now (paused, disconnected).
  if coffer backup "$id" --wait; then echo "$id: done"; else status=$?; echo "$id: failed (exit $status)" >&2; fi
done
exit "$status"
