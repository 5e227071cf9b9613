// XPay's signature code from its document, as written: an HMAC-SHA256 with the HMAC secret
// (hmac_sc_api) over the data, as hex. The data is the request payload as the client builds
// it, JSON.stringify'd; the payload is the document's cURL body (its trailing comma is legal
// in JavaScript), with the order reference and URLs from the environment. Prints the signature.
const crypto = require('crypto');

const hmac_sc_api = process.env.XPAY_HMAC_SECRET;
const payload = {
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
"order_reference": process.env.XPAY_ORDER_REFERENCE
},
"success_url": process.env.XPAY_SUCCESS_URL,
"failure_url": process.env.XPAY_FAILURE_URL,
"payment_methods": ["card", "jazzcash"]
};
const data = JSON.stringify(payload);

let hash = crypto
.createHmac('SHA256', hmac_sc_api)
.update(data)
.digest('hex');

console.log(hash);
