#!/usr/bin/env bash
# Onboard a Dropbox team: create a backup task, have a Dropbox team admin approve Coffer, and wait
# until the team is connected and its users and team folders are discovered.
#
#   COFFER_API_URL=https://coffer.example.com COFFER_API_KEY=cfk_… TEAM_NAME="Acme" ./onboard-team.sh
# (or `coffer login` once instead of the two variables). Needs coffer and jq.
set -euo pipefail

# auto_activate: back up every user and team folder discovery finds, now and later.
task=$(coffer tasks create --name "${TEAM_NAME:-My Dropbox team}" --auto-activate true --json)
task_id=$(jq -r .id <<<"$task")
echo "Open this link as a Dropbox team admin and approve Coffer:"
jq -r .authorize_url <<<"$task"

# The approval lands on Coffer's OAuth callback; poll until the task is connected.
until [ "$(coffer tasks get "$task_id" --json | jq -r .connection_status)" = connected ]; do sleep 2; done
echo "Connected: $task_id"

# Discovery runs in the background right after connecting; wait until it has found someone.
until [ "$(coffer entities list --task-id "$task_id" --json | jq '.data | length')" -gt 0 ]; do sleep 1; done
coffer entities list --task-id "$task_id" --all
echo "TASK_ID=$task_id"
