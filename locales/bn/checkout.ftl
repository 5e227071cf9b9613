# The customer's pages: the checkout (/pay/{id}), a payment link's page (/l/{slug}) and the
# messages shown instead of them. Every language has every message of this file; a test fails
# when one is missing. Brand names (UPI, JazzCash, Easypaisa, bKash, Nagad, Hundi) and codes
# the customer types (MM/YY, 123456) stay as they are.

## The page around the payment
page-title = { $merchant }-কে পেমেন্ট · { $amount }
link-page-title = { $merchant }-কে পেমেন্ট
test-mode = টেস্ট মোড
secured-by = Hundi দ্বারা সুরক্ষিত
language = ভাষা
processing = প্রসেস হচ্ছে…

## Waiting for the customer
# { $time } is the live countdown (14:59).
pay-within = { $time }-এর মধ্যে পেমেন্ট করুন
no-method = এই পেমেন্টের জন্য কোনো পেমেন্ট পদ্ধতি নেই।
waiting = আপনার পেমেন্ট পৌঁছালেই এই পেজ নিজে থেকে এগিয়ে যাবে।
cancel = বাতিল করে { $merchant }-এ ফিরে যান

## The one-time code
enter-code = কোডটি দিন
otp-label = ওয়ান-টাইম কোড (OTP)
otp-card = আপনার ব্যাংক { $last4 } দিয়ে শেষ হওয়া কার্ডের জন্য একটি কোড পাঠিয়েছে। টেস্ট মোডে এটি 123456।
otp-phone = আমরা { $last4 } দিয়ে শেষ হওয়া নম্বরে একটি কোড পাঠিয়েছি। টেস্ট মোডে এটি 123456।
otp-other = যে কোডটি পেয়েছেন সেটি দিন। টেস্ট মোডে এটি 123456।
confirm-and-pay = নিশ্চিত করে { $amount } পেমেন্ট করুন

## UPI and wallet transfers: the customer sends the exact amount from their own app
upi-scan = যেকোনো UPI অ্যাপ দিয়ে স্ক্যান করুন, অথবা এই ফোনেই অ্যাপ খুলুন। ঠিক এই পরিমাণ পেমেন্ট করুন:
# { $payee } is the name of who is paid, followed by their UPI id or wallet number.
to-payee = প্রাপক { $payee }
upi-open = UPI অ্যাপে খুলুন
transfer-send = আপনার { $wallet } অ্যাপ থেকে এই অ্যাকাউন্টে টাকা পাঠান। ঠিক এই পরিমাণ পাঠান:
transfer-reference = রেফারেন্স (অ্যাপ চাইলে):
transfer-exact = এই পরিমাণ দিয়েই আপনার পেমেন্ট চেনা যায়: একবারেই পাঠান, বেশিও না, কমও না।

## The card and wallet forms
method-card = কার্ড
card-number = কার্ড নম্বর
card-expiry = মেয়াদ
card-cvc = CVC
pay = { $amount } পেমেন্ট করুন
wallet-number = { $wallet } মোবাইল নম্বর
pay-with = { $wallet } দিয়ে { $amount } পেমেন্ট করুন

## What the customer must correct
error-card-number-missing = কার্ড নম্বর দিন
error-card-number-invalid = এই কার্ড নম্বরটি সঠিক নয়
error-expiry-format = মেয়াদ MM/YY আকারে দিন
error-card-expired = এই কার্ডের মেয়াদ শেষ হয়ে গেছে
error-cvc = 3 বা 4 সংখ্যার নিরাপত্তা কোড দিন
error-phone = আপনার মোবাইল নম্বর { $shape } আকারে দিন

## Why a try did not pay
decline-card-declined = আপনার কার্ডটি গ্রহণ করা হয়নি। অন্য কার্ড দিয়ে চেষ্টা করুন।
decline-card-insufficient-funds = আপনার কার্ডে যথেষ্ট টাকা নেই। অন্য কার্ড দিয়ে চেষ্টা করুন।
decline-wallet-declined = { $wallet } এই পেমেন্টটি গ্রহণ করেনি। অন্য পদ্ধতিতে চেষ্টা করুন।
decline-wallet-insufficient-funds = আপনার { $wallet } ব্যালেন্স যথেষ্ট নয়।
decline-incorrect-otp = কোডটি সঠিক ছিল না। নতুন কোড পেতে আবার শুরু করুন।
decline-code-used = এই কোডটি আগেই ব্যবহার করা হয়েছে। আবার শুরু করুন।
decline-start-again = আবার শুরু করুন।
decline-other = এই পেমেন্ট গ্রহণ করা হয়নি। অন্য পদ্ধতিতে চেষ্টা করুন।

## The end of a payment
paid-title = পেমেন্ট সফল হয়েছে
paid-to = প্রাপক
amount = পরিমাণ
paid-with = পেমেন্ট পদ্ধতি
paid-on = পেমেন্টের তারিখ
payment = পেমেন্ট
paid-with-upi = UPI · UTR { $utr }
paid-with-transfer = { $wallet } · ট্রানজেকশন { $id }
return-to = { $merchant }-এ ফিরে যান
canceled-title = পেমেন্ট বাতিল হয়েছে
no-money-taken = কোনো টাকা কাটা হয়নি।
expired-title = এই পেমেন্টের মেয়াদ শেষ হয়ে গেছে
expired-text = এই লিংকে আর পেমেন্ট করা যাবে না। { $merchant }-এর কাছে নতুন লিংক চান।
failed-title = এই পেমেন্ট সম্পন্ন করা যায়নি
failed-text = কোনো টাকা কাটা হয়নি। { $merchant }-এর কাছে নতুন পেমেন্ট লিংক চান।

## A payment link's page
link-amount = পরিমাণ ({ $currency }, { $min } থেকে { $max } পর্যন্ত)
link-continue = পেমেন্টে এগিয়ে যান
link-amount-invalid = পরিমাণ { $min } থেকে { $max } { $currency }-এর মধ্যে হতে হবে
link-expired = এই পেমেন্ট লিংকের মেয়াদ শেষ হয়ে গেছে।
link-full = এই পেমেন্ট লিংকে যতগুলো পেমেন্ট নেওয়ার কথা ছিল, সব নেওয়া হয়ে গেছে।
link-deactivated = দোকান এই পেমেন্ট লিংকটি বন্ধ করে দিয়েছে।

## Pages shown instead of the checkout
not-found-title = পেমেন্ট পাওয়া যায়নি
not-found-text = এই পেমেন্ট লিংকটি সঠিক নয়। আপনাকে দেওয়া লিংকটি যাচাই করুন।
link-not-found-title = লিংক পাওয়া যায়নি
form-expired-title = এই ফর্মের মেয়াদ শেষ হয়ে গেছে
form-expired-text = পেমেন্ট পেজটি আবার লোড করে চেষ্টা করুন।
busy-title = ব্যস্ত
busy-text = এই লিংকের অনেক পেমেন্ট অপেক্ষায় আছে; কয়েক মিনিট পরে আবার চেষ্টা করুন।
error-title = কিছু একটা ভুল হয়েছে
error-text = কোনো টাকা কাটা হয়নি। একটু পরে আবার চেষ্টা করুন।
error-text-id = কোনো টাকা কাটা হয়নি। একটু পরে আবার চেষ্টা করুন; আবার এমন হলে দোকানকে এই অনুরোধ নম্বরটি দিন: { $id }

## The receipt e-mailed to the customer
receipt-subject = { $merchant }-এর রসিদ · { $amount }
refund-subject = { $merchant } থেকে রিফান্ড · { $amount }
receipt-thanks = { $merchant }-কে পেমেন্ট করার জন্য ধন্যবাদ।
refund-sent = { $merchant } আপনার পেমেন্ট থেকে { $amount } ফেরত দিয়েছে।
refunded = ফেরত দেওয়া পরিমাণ
refunded-on = ফেরতের তারিখ
receipt-for = বাবদ
receipt-keep = এই ই-মেইলটি আপনার রসিদ হিসেবে রেখে দিন। এই পেমেন্ট নিয়ে প্রশ্ন থাকলে { $merchant }-এর সাথে যোগাযোগ করুন।
