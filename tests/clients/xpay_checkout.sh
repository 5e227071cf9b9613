#!/usr/bin/env bash
# XPay's cURL example, as written (its trailing comma included), with the host, the three
# headers' credentials, the order reference and the URLs filled in. The x-signature comes from
# the document's Node.js signature code (node/xpay_signature.js). Prints the response.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
signature="$(node "$here/node/xpay_signature.js")"
curl --location -g -sS --request POST "$XPAY_HOST/public/v1/payment/checkout" \
--header "x-api-key: $XPAY_API_KEY" \
--header "x-account-id: $XPAY_ACCOUNT_ID" \
--header "x-signature: $signature" \
--header 'Content-Type: application/json' \
--data-raw '{
"amount": 5,
"currency": "PKR",
"customer": {
"email": "testuser@gmail.com",
"name": "user",
"phone": "03415682456",
},
"shipping": {
"address1": "Gulberg",
"city": "Lahore",
"country": "Pakistan",
"zip": "65191",
"shipping_method": "Standard",
"province": "Punjab"
},
"metadata": {
"order_reference": "'"$XPAY_ORDER_REFERENCE"'"
},
"success_url": "'"$XPAY_SUCCESS_URL"'",
"failure_url": "'"$XPAY_FAILURE_URL"'",
"payment_methods": ["card", "jazzcash"]
}'
