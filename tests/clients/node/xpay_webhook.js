// An XPay webhook receiver the way merchants write one (the document links to its webhook
// guide): Express parses the JSON, the receiver re-serializes the parsed body and checks
// X-Signature, an HMAC-SHA256 with the webhook secret, as hex. Prints each verified webhook.
const crypto = require('crypto');
const express = require('express');
const app = express();
app.use(express.json());

app.post('/xpay/webhook', (req, res) => {
  const expected = crypto
    .createHmac('SHA256', process.env.XPAY_WEBHOOK_SECRET)
    .update(JSON.stringify(req.body))
    .digest('hex');
  if (req.headers['x-signature'] !== expected) {
    return res.status(401).send('invalid signature');
  }
  console.log(JSON.stringify(req.body));
  res.json({ received: true });
});

const server = app.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log('listening ' + server.address().port);
});
