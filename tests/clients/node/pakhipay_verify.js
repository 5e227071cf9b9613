// Pakhi Pay's Node.js "Verify Payment" example (from its published API document), as written; only the host, the API
// key and the transaction id are changed (read from the environment the test sets).
const axios = require('axios');
axios.post(process.env.PAKHIPAY_HOST + '/api/request/payment/verify/', {
transaction_id: process.env.PAKHIPAY_TRANSACTION_ID,
amount: 100.00
}, {
headers: { 'api-key': process.env.PAKHIPAY_API_KEY }
})
.then(response => {
if (response.data.status === 1 && response.data.message === 'completed') {
console.log("Verified");
} else {
console.log("Failed");
}
});
