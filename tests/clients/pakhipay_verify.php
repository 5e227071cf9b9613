<?php
// Pakhi Pay's PHP "Verify Payment" example (from its published API document), as written; only the host, the API key
// and the transaction id are changed (read from the environment the test sets).
$api_url = getenv("PAKHIPAY_HOST") . "/api/request/payment/verify/";
$api_key = getenv("PAKHIPAY_API_KEY");
$data = [
"transaction_id" => getenv("PAKHIPAY_TRANSACTION_ID"),
"amount" => 100.00
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
if ($result['status'] == 1 && $result['message'] == 'completed') {
echo "Payment Verified Successfully!";
} else {
echo "Payment Verification Failed.";
}
?>
