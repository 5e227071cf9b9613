<?php
// Pakhi Pay's PHP callback handler from its document, run with PHP's built-in server. Two
// changes: the API key comes from the environment, and the HMAC of the raw body is compared
// with the X-Signature header (the document compares it with the body's own `signature`
// field, which cannot match a hash of a body that contains it). Each verified callback is
// printed as one JSON line.
// Get the JSON payload
$json = file_get_contents('php://input');
$data = json_decode($json, true);
// Verify signature (recommended for security)
$api_key = getenv('PAKHIPAY_API_KEY'); // Your brand API key
$expected_signature = hash_hmac('sha256', $json, $api_key);
if (!hash_equals($expected_signature, $_SERVER['HTTP_X_SIGNATURE'] ?? '')) {
http_response_code(403);
echo "Invalid signature";
exit;
}
if ($data['status'] == 'completed') {
$trx_id = $data['transaction_id'];
$amount = $data['amount'];
$order_id = $data['order_id'];
// 1. Verify the transaction in your database
// 2. Update order status to 'Paid'
file_put_contents('php://stdout', json_encode($data, JSON_UNESCAPED_SLASHES) . "\n");
http_response_code(200);
echo "OK";
} else {
http_response_code(400);
echo "Invalid Status";
}
?>
