// Waypay's Node.js/Express webhook handler from its document, as written. Around it, the
// lines the document leaves to the reader: the Express app and listen().
const express = require('express');
const app = express();

app.post('/api/webhooks/payment', express.json(), (req, res) => {
const webhook = req.body;
// Validate webhook
if (webhook.type === 'TransactionStatusChanged') {
const { TransactionId, CurrentStatus, Amount, OrderRef } = webhook.data;
// Parse OrderRef JSON string
const order = JSON.parse(OrderRef);
// Process based on status
if (CurrentStatus === 'Completed') {
// Update order status in database
// Send confirmation email
// Fulfill order
console.log(`Payment completed for order ${order.OrderRef}`);
} else if (CurrentStatus === 'Failed') {
// Handle failed payment
console.log(`Payment failed for order ${order.OrderRef}`);
}
}
// Always return 200 OK
res.status(200).send('Webhook received');
});

const server = app.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log('listening ' + server.address().port);
});
