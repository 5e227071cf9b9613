<?php
// Pakhi Pay's PHP "Create Payment" example (from its published API document), as written; only the host and the API
// key are changed (read from the environment the test sets).
$api_url = getenv("PAKHIPAY_HOST") . "/api/request/payment/create/";
$api_key = getenv("PAKHIPAY_API_KEY");
$data = [
"cus_name" => "John Doe",
"cus_email" => "john@example.com",
"amount" => 100.00,
"success_url" => "https://yourwebsite.com/success",
"cancel_url" => "https://yourwebsite.com/cancel",
"order_id" => "ORDER123",
"callback_url" => "https://yourwebsite.com/webhook"
];
$ch = curl_init($api_url);
curl_setopt($ch, CURLOPT_POST, 1);
curl_setopt($ch, CURLOPT_POSTFIELDS, json_encode($data));
curl_setopt($ch, CURLOPT_RETURNTRANSFER, true);
curl_setopt($ch, CURLOPT_HTTPHEADER, [
"Content-Type: application/json",
"api-key: $api_key"
]);
$response = curl_exec($ch);
$result = json_decode($response, true);
if ($result['status'] == 1) {
header("Location: " . $result['payment_url']);
} else {
echo "Error: " . $result['message'];
}
?>
