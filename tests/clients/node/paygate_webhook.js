// PayGate's webhook verifier from its document, as written: the Express route and
// verifyWebhook(). Only the secret is changed (read from the environment), and the
// "Process the payment event" comment became a line that prints the event for the test.
// Around it, the lines the document leaves to the reader: the Express app, its JSON body
// parser, and listen().
const express = require('express');
const app = express();
app.use(express.json());

// Node.js example
const crypto = require('crypto');
function verifyWebhook(body, signature, secret) {
const expected = crypto
.createHmac('sha256', secret)
.update(body)
.digest('hex');
return signature === expected;
}
// In your Express route:
app.post('/webhook', (req, res) => {
const sig = req.headers['x-webhook-signature'];
const valid = verifyWebhook(
JSON.stringify(req.body), sig, process.env.PAYGATE_WEBHOOK_SECRET
);
if (!valid) return res.status(401).send('Invalid signature');
const { event, session_id, status } = req.body;
// Process the payment event...
console.log(JSON.stringify({ event, session_id, status, header: req.headers['x-webhook-event'], body: req.body }));
res.json({ received: true });
});

const server = app.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log('listening ' + server.address().port);
});
