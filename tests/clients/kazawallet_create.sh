#!/usr/bin/env bash
# Kazawallet's cURL example, as written, with the host, the key and the placeholders filled
# in (the document leaves the URL empty and drops the closing brace). Prints the response.
set -euo pipefail
curl -sS -X POST "$KAZAWALLET_HOST/wallet/createPaymentLink" \
-H "x-api-key: $KAZAWALLET_API_KEY" \
-H 'Content-Type: application/json' \
-d '{
  "amount": "150.00",
  "currency": "USD",
  "email": "customer@example.com",
  "redirectUrl": "'"$KAZAWALLET_REDIRECT"'"
}'
