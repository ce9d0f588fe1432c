#!/usr/bin/env bash
# Verify a Coffer webhook delivery from a shell hook: the raw request body on stdin, the
# Coffer-Signature header as the argument, the endpoint's secret in COFFER_WEBHOOK_SECRET (shown
# once by `coffer webhooks create --url … --events …`). Exit 0 if genuine and fresh, 1 if not.
#
#   COFFER_WEBHOOK_SECRET=whsec_… ./verify-webhook.sh "$HTTP_COFFER_SIGNATURE" < body.json
#
# The header is `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>` (maybe several v1).
set -euo pipefail
header=${1:?give the Coffer-Signature header}
body=$(mktemp); trap 'rm -f "$body"' EXIT
cat > "$body"

t=$(tr ',' '\n' <<<"$header" | sed -n 's/^ *t=\([0-9][0-9]*\)$/\1/p' | head -n 1)
[ -n "$t" ] || { echo "malformed_header" >&2; exit 1; }
# Refuse timestamps more than 5 minutes away, so a captured delivery cannot be replayed later.
now=$(date +%s)
[ $(( now > t ? now - t : t - now )) -le 300 ] || { echo "timestamp_out_of_tolerance" >&2; exit 1; }

# The HMAC over "<t>." followed by the exact bytes received.
expected=$({ printf '%s.' "$t"; cat "$body"; } | openssl dgst -sha256 -hmac "$COFFER_WEBHOOK_SECRET" -r | cut -d' ' -f1)
for v in $(tr ',' '\n' <<<"$header" | sed -n 's/^ *v1=\([0-9a-f]*\)$/\1/p'); do
  # Compare digests of both, so the comparison leaks nothing about where they differ.
  if [ "$(printf '%s' "$v" | openssl dgst -sha256 -r)" = "$(printf '%s' "$expected" | openssl dgst -sha256 -r)" ]; then
    echo "verified $(jq -r '"\(.type) \(.id)"' "$body")"
    exit 0
  fi
done
echo "signature_mismatch" >&2
exit 1
