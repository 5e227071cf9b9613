// Pakhi Pay's Express.js callback handler from its document. Changes: the API key comes from
// the environment, and the signature is checked the way Hundi signs it — the `signature` field
// over the payload without that field (JSON.stringify after `delete`), and the X-Signature
// header over the body. The document hashes the body with the field still in it, which cannot
// match. Around it: listen(), and a line printed per verified callback.
const express = require('express');
const crypto = require('crypto');
const app = express();
app.use(express.json());
app.post('/webhook', (req, res) => {
const data = req.body;
const signature = data.signature;
const unsigned = { ...data };
delete unsigned.signature;
const rawBody = JSON.stringify(unsigned);
// Verify signature for security
const apiKey = process.env.PAKHIPAY_API_KEY; // Your brand API key
const expectedSignature = crypto
.createHmac('sha256', apiKey)
.update(rawBody, 'utf8')
.digest('hex');
const expectedHeader = crypto
.createHmac('sha256', apiKey)
.update(JSON.stringify(req.body), 'utf8')
.digest('hex');
if (expectedSignature !== signature || expectedHeader !== req.headers['x-signature']) {
return res.status(403).send('Invalid signature');
}
if (data.status === 'completed') {
const trxId = data.transaction_id;
const orderId = data.order_id;
console.log(JSON.stringify(data));
// Update your database here
res.status(200).send('OK');
} else {
res.status(400).send('Invalid Status');
}
});

const server = app.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log('listening ' + server.address().port);
});
