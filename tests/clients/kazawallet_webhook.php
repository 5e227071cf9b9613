<?php
// A Kazawallet webhook receiver built on the document's PHP verification example, run with
// PHP's built-in server. The example's four placeholder lines take the webhook's fields and
// the merchant's credentials; its computation is as written. Like real modules, it answers
// 200 to a verified "fulfilled", 400 to "timed_out" (Kazawallet sends each link once), and
// 401 when the secret does not verify. Each verified webhook is printed as one JSON line.

$payload = json_decode(file_get_contents('php://input'), true);

$amount = $payload['amount']; // Replace with the actual amount
$order_id = $payload['order_id']; // Replace with the actual payment link ID
$kazawalletApiKey = getenv('KAZAWALLET_API_KEY'); // Replace with the actual kazawallet API key
$kazawalletApiSecret = getenv('KAZAWALLET_API_SECRET'); // Replace with the actual kazawallet API secret

// Create the secret string by concatenating the amount, order_id, and kazawalletApiKey
$secretString = $amount . ':::' . $order_id . ':::' . $kazawalletApiKey;

// Generate a SHA-256 hash of the secret string
$hashDigest = hash('sha256', $secretString, true);

// Generate an HMAC-SHA512 hash of the SHA-256 hash using the kazawalletApiSecret
$hmacDigest = hash_hmac('sha512', $hashDigest, $kazawalletApiSecret, true);

// Encode the HMAC-SHA512 hash in Base64
$hmacDigestBase64 = base64_encode($hmacDigest);

if (!hash_equals($hmacDigestBase64, (string) $payload['secret'])) {
    http_response_code(401);
    echo 'invalid secret';
    return;
}
file_put_contents('php://stdout', json_encode($payload, JSON_UNESCAPED_SLASHES) . "\n");
if ($payload['status'] !== 'fulfilled') {
    http_response_code(400);
    echo 'not paid';
    return;
}
echo 'ok';
