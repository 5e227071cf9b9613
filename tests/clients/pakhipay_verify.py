# Pakhi Pay's Python "Verify Payment" example (from its published API document), as written; only the host, the API
# key and the transaction id are changed (read from the environment the test sets).
import os
import requests
api_url = os.environ["PAKHIPAY_HOST"] + "/api/request/payment/verify/"
headers = {"api-key": os.environ["PAKHIPAY_API_KEY"]}
data = {
"transaction_id": os.environ["PAKHIPAY_TRANSACTION_ID"],
"amount": 100.00
}
response = requests.post(api_url, json=data, headers=headers)
result = response.json()
if result.get('status') == 1 and result.get('message') == 'completed':
    print("Success")
else:
    print("Failed")
