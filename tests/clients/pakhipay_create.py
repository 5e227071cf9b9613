# Pakhi Pay's Python "Create Payment" example (from its published API document), as written; only the host and the
# API key are changed (read from the environment the test sets).
import os
import requests
api_url = os.environ["PAKHIPAY_HOST"] + "/api/request/payment/create/"
headers = {
"api-key": os.environ["PAKHIPAY_API_KEY"],
"Content-Type": "application/json"
}
data = {
"cus_name": "John Doe",
"cus_email": "john@example.com",
"amount": 100.00,
"success_url": "https://yourwebsite.com/success",
"cancel_url": "https://yourwebsite.com/cancel",
"order_id": "ORDER123",
"callback_url": "https://yourwebsite.com/webhook"
}
response = requests.post(api_url, json=data, headers=headers)
result = response.json()
if result['status'] == 1:
    print(f"Payment URL: {result['payment_url']}")
else:
    print(f"Error: {result['message']}")
