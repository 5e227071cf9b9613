// Pakhi Pay's Node.js "Create Payment" example (from its published API document), as written; only the host and the
// API key are changed (read from the environment the test sets).
const axios = require('axios');
const data = {
cus_name: "John Doe",
cus_email: "john@example.com",
amount: 100.00,
success_url: "https://yourwebsite.com/success",
cancel_url: "https://yourwebsite.com/cancel",
order_id: "ORDER123",
callback_url: "https://yourwebsite.com/webhook"
};
axios.post(process.env.PAKHIPAY_HOST + '/api/request/payment/create/', data, {
headers: {
'api-key': process.env.PAKHIPAY_API_KEY,
'Content-Type': 'application/json'
}
})
.then(response => {
if (response.data.status === 1) {
console.log('Payment URL:', response.data.payment_url);
} else {
console.error('Error:', response.data.message);
}
})
.catch(error => console.error(error));
