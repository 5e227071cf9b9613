#!/usr/bin/env bash
# Waypay's cURL example, as written, with the host, the key, the callback URL and the order
# reference filled in, and a correct signature in place of the example's placeholder: MD5 of
# the top-level fields (objects left out, keys lowercased and sorted, k=v joined by &) with
# the merchant secret appended, as the document's signature guide describes.
set -euo pipefail
order_ref="${WAYPAY_ORDER_REF:-ORD123456}"
callback="${WAYPAY_CALLBACK_URL:-https://yoursite.com/payment/callback}"
canonical="amount=1000&callbackurl=${callback}&currency=PKR&description=Product Purchase&intenttype=checkout&paymentmethod=1"
signature=$(printf '%s%s' "$canonical" "$WAYPAY_SECRET" | md5sum | cut -d' ' -f1)
curl -sS --request POST \
--url "$WAYPAY_HOST/Gateway/v1/Payment/initiate-checkout" \
--header "SWICH-API-Key: $WAYPAY_API_KEY" \
--header 'Content-Type: application/json' \
--data '{
"amount": 1000,
"currency": "PKR",
"description": "Product Purchase",
"orderRef": {
"orderRef": "'"$order_ref"'",
"discount": "10",
"tax": "15"
},
"callbackUrl": "'"$callback"'",
"intentType": "checkout",
"paymentMethod": 1,
"signature": "'"$signature"'"
}'
