# The customer's pages: the checkout (/pay/{id}), a payment link's page (/l/{slug}) and the
# messages shown instead of them. Every language has every message of this file; a test fails
# when one is missing. Brand names (UPI, JazzCash, Easypaisa, bKash, Nagad, Hundi) and codes
# the customer types (MM/YY, 123456) stay as they are.

## The page around the payment
page-title = { $merchant } को भुगतान · { $amount }
link-page-title = { $merchant } को भुगतान
test-mode = टेस्ट मोड
secured-by = Hundi द्वारा सुरक्षित
language = भाषा
processing = प्रोसेस हो रहा है…

## Waiting for the customer
# { $time } is the live countdown (14:59).
pay-within = { $time } के अंदर भुगतान करें
no-method = इस भुगतान के लिए कोई भुगतान तरीका उपलब्ध नहीं है।
waiting = आपका भुगतान पहुँचते ही यह पेज अपने आप आगे बढ़ जाएगा।
cancel = रद्द करें और { $merchant } पर लौटें

## The one-time code
enter-code = कोड डालें
otp-label = वन-टाइम कोड (OTP)
otp-card = आपके बैंक ने { $last4 } पर खत्म होने वाले कार्ड के लिए कोड भेजा है। टेस्ट मोड में यह 123456 है।
otp-phone = हमने { $last4 } पर खत्म होने वाले नंबर पर कोड भेजा है। टेस्ट मोड में यह 123456 है।
otp-other = आपको मिला कोड डालें। टेस्ट मोड में यह 123456 है।
confirm-and-pay = पुष्टि करें और { $amount } का भुगतान करें

## UPI and wallet transfers: the customer sends the exact amount from their own app
upi-scan = किसी भी UPI ऐप से स्कैन करें, या इसी फ़ोन पर ऐप खोलें। ठीक इतनी राशि का भुगतान करें:
# { $payee } is the name of who is paid, followed by their UPI id or wallet number.
to-payee = { $payee } को
upi-open = UPI ऐप में खोलें
transfer-send = अपने { $wallet } ऐप से इस खाते में पैसे भेजें। ठीक इतनी राशि भेजें:
transfer-reference = रेफ़रेंस (अगर ऐप पूछे):
transfer-exact = यही राशि आपके भुगतान की पहचान है: इसे एक ही बार में भेजें, न ज़्यादा, न कम।

## The card and wallet forms
method-card = कार्ड
card-number = कार्ड नंबर
card-expiry = समाप्ति तिथि
card-cvc = CVC
pay = { $amount } का भुगतान करें
wallet-number = { $wallet } मोबाइल नंबर
pay-with = { $wallet } से { $amount } का भुगतान करें

## What the customer must correct
error-card-number-missing = कार्ड नंबर डालें
error-card-number-invalid = यह कार्ड नंबर मान्य नहीं है
error-expiry-format = समाप्ति तिथि MM/YY के रूप में डालें
error-card-expired = इस कार्ड की अवधि समाप्त हो चुकी है
error-cvc = 3 या 4 अंकों का सुरक्षा कोड डालें
error-phone = अपना मोबाइल नंबर { $shape } के रूप में डालें

## Why a try did not pay
decline-card-declined = आपका कार्ड अस्वीकार हो गया। कोई दूसरा कार्ड आज़माएँ।
decline-card-insufficient-funds = आपके कार्ड में पर्याप्त राशि नहीं है। कोई दूसरा कार्ड आज़माएँ।
decline-wallet-declined = { $wallet } ने यह भुगतान अस्वीकार कर दिया। कोई दूसरा तरीका आज़माएँ।
decline-wallet-insufficient-funds = आपके { $wallet } में बैलेंस कम है।
decline-incorrect-otp = कोड सही नहीं था। नया कोड पाने के लिए फिर से शुरू करें।
decline-code-used = यह कोड पहले ही इस्तेमाल हो चुका है। फिर से शुरू करें।
decline-start-again = फिर से शुरू करें।
decline-other = यह भुगतान स्वीकार नहीं हुआ। कोई दूसरा तरीका आज़माएँ।

## The end of a payment
paid-title = भुगतान सफल
paid-to = प्राप्तकर्ता
amount = राशि
paid-with = भुगतान का तरीका
paid-on = भुगतान की तारीख
payment = भुगतान
paid-with-upi = UPI · UTR { $utr }
paid-with-transfer = { $wallet } · ट्रांज़ैक्शन { $id }
return-to = { $merchant } पर लौटें
canceled-title = भुगतान रद्द
no-money-taken = कोई पैसा नहीं कटा।
expired-title = इस भुगतान की अवधि समाप्त हो गई है
expired-text = इस लिंक पर अब भुगतान नहीं हो सकता। { $merchant } से नया लिंक माँगें।
failed-title = यह भुगतान पूरा नहीं हो सका
failed-text = कोई पैसा नहीं कटा। { $merchant } से नया भुगतान लिंक माँगें।

## A payment link's page
link-amount = राशि ({ $currency }, { $min } से { $max } तक)
link-continue = भुगतान पर आगे बढ़ें
link-amount-invalid = राशि { $min } से { $max } { $currency } के बीच होनी चाहिए
link-expired = इस भुगतान लिंक की अवधि समाप्त हो गई है।
link-full = इस भुगतान लिंक पर जितने भुगतान होने थे, सब हो चुके हैं।
link-deactivated = दुकान ने यह भुगतान लिंक बंद कर दिया है।

## Pages shown instead of the checkout
not-found-title = भुगतान नहीं मिला
not-found-text = यह भुगतान लिंक मान्य नहीं है। आपको मिला लिंक जाँचें।
link-not-found-title = लिंक नहीं मिला
form-expired-title = इस फ़ॉर्म की अवधि समाप्त हो गई है
form-expired-text = भुगतान पेज को दोबारा लोड करें और फिर कोशिश करें।
busy-title = व्यस्त
busy-text = इस लिंक के बहुत से भुगतान बाकी हैं; कुछ मिनट बाद फिर कोशिश करें।
error-title = कुछ गड़बड़ हो गई
error-text = कोई पैसा नहीं कटा। कृपया थोड़ी देर बाद फिर कोशिश करें।
error-text-id = कोई पैसा नहीं कटा। कृपया थोड़ी देर बाद फिर कोशिश करें; अगर फिर से ऐसा हो, तो दुकान को यह अनुरोध नंबर दें: { $id }

## The receipt e-mailed to the customer
receipt-subject = { $merchant } की रसीद · { $amount }
refund-subject = { $merchant } से रिफ़ंड · { $amount }
receipt-thanks = { $merchant } को भुगतान करने के लिए धन्यवाद।
refund-sent = { $merchant } ने आपके भुगतान में से { $amount } वापस कर दिए हैं।
refunded = रिफ़ंड की गई राशि
refunded-on = रिफ़ंड की तारीख
receipt-for = विवरण
receipt-keep = इस ई-मेल को अपनी रसीद के रूप में रखें। इस भुगतान के बारे में सवालों के लिए { $merchant } से संपर्क करें।
