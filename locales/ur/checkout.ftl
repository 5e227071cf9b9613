# The customer's pages: the checkout (/pay/{id}), a payment link's page (/l/{slug}) and the
# messages shown instead of them. Every language has every message of this file; a test fails
# when one is missing. Brand names (UPI, JazzCash, Easypaisa, bKash, Nagad, Hundi) and codes
# the customer types (MM/YY, 123456) stay as they are.

## The page around the payment
page-title = { $merchant } کو ادائیگی · { $amount }
link-page-title = { $merchant } کو ادائیگی
test-mode = ٹیسٹ موڈ
secured-by = Hundi کے ذریعے محفوظ
language = زبان
processing = کارروائی جاری ہے…

## Waiting for the customer
# { $time } is the live countdown (14:59).
pay-within = { $time } کے اندر ادائیگی کریں
no-method = اس ادائیگی کے لیے کوئی طریقۂ ادائیگی دستیاب نہیں۔
waiting = آپ کی رقم پہنچتے ہی یہ صفحہ خود آگے بڑھ جائے گا۔
cancel = منسوخ کریں اور { $merchant } پر واپس جائیں

## The one-time code
enter-code = کوڈ درج کریں
otp-label = ون ٹائم کوڈ (OTP)
otp-card = آپ کے بینک نے { $last4 } پر ختم ہونے والے کارڈ کے لیے کوڈ بھیجا ہے۔ ٹیسٹ موڈ میں یہ 123456 ہے۔
otp-phone = ہم نے { $last4 } پر ختم ہونے والے نمبر پر کوڈ بھیجا ہے۔ ٹیسٹ موڈ میں یہ 123456 ہے۔
otp-other = موصول ہونے والا کوڈ درج کریں۔ ٹیسٹ موڈ میں یہ 123456 ہے۔
confirm-and-pay = تصدیق کریں اور { $amount } ادا کریں

## UPI and wallet transfers: the customer sends the exact amount from their own app
upi-scan = کسی بھی UPI ایپ سے اسکین کریں، یا اسی فون پر ایپ کھولیں۔ بالکل اتنی رقم ادا کریں:
# { $payee } is the name of who is paid, followed by their UPI id or wallet number.
to-payee = { $payee } کو
upi-open = UPI ایپ میں کھولیں
transfer-send = اپنی { $wallet } ایپ میں اس اکاؤنٹ پر رقم بھیجیں۔ بالکل اتنی رقم بھیجیں:
transfer-reference = حوالہ (اگر ایپ پوچھے):
transfer-exact = یہی رقم آپ کی ادائیگی کی پہچان ہے: اسے ایک ہی بار میں بھیجیں، نہ کم نہ زیادہ۔

## The card and wallet forms
method-card = کارڈ
card-number = کارڈ نمبر
card-expiry = میعاد
card-cvc = CVC
pay = { $amount } ادا کریں
wallet-number = { $wallet } موبائل نمبر
pay-with = { $wallet } سے { $amount } ادا کریں

## What the customer must correct
error-card-number-missing = کارڈ نمبر درج کریں
error-card-number-invalid = یہ کارڈ نمبر درست نہیں
error-expiry-format = میعاد MM/YY کی صورت میں درج کریں
error-card-expired = اس کارڈ کی میعاد ختم ہو چکی ہے
error-cvc = 3 یا 4 ہندسوں کا سیکیورٹی کوڈ درج کریں
error-phone = اپنا موبائل نمبر { $shape } کی صورت میں درج کریں

## Why a try did not pay
decline-card-declined = آپ کا کارڈ مسترد ہو گیا۔ کوئی اور کارڈ آزمائیں۔
decline-card-insufficient-funds = آپ کے کارڈ میں رقم ناکافی ہے۔ کوئی اور کارڈ آزمائیں۔
decline-wallet-declined = { $wallet } نے یہ ادائیگی مسترد کر دی۔ کوئی اور طریقہ آزمائیں۔
decline-wallet-insufficient-funds = آپ کے { $wallet } اکاؤنٹ میں بیلنس کم ہے۔
decline-incorrect-otp = کوڈ درست نہیں تھا۔ نیا کوڈ لینے کے لیے دوبارہ شروع کریں۔
decline-code-used = یہ کوڈ پہلے ہی استعمال ہو چکا ہے۔ دوبارہ شروع کریں۔
decline-start-again = دوبارہ شروع کریں۔
decline-other = یہ ادائیگی قبول نہیں ہوئی۔ کوئی اور طریقہ آزمائیں۔

## The end of a payment
paid-title = ادائیگی کامیاب
paid-to = وصول کنندہ
amount = رقم
paid-with = ادائیگی بذریعہ
paid-on = تاریخِ ادائیگی
payment = ادائیگی
paid-with-upi = UPI · UTR { $utr }
paid-with-transfer = { $wallet } · ٹرانزیکشن { $id }
return-to = { $merchant } پر واپس جائیں
canceled-title = ادائیگی منسوخ
no-money-taken = کوئی رقم نہیں کاٹی گئی۔
expired-title = اس ادائیگی کی میعاد ختم ہو گئی ہے
expired-text = اس لنک پر اب کوئی ادائیگی نہیں ہو سکتی۔ { $merchant } سے نیا لنک مانگیں۔
failed-title = یہ ادائیگی مکمل نہیں ہو سکی
failed-text = کوئی رقم نہیں کاٹی گئی۔ { $merchant } سے ادائیگی کا نیا لنک مانگیں۔

## A payment link's page
link-amount = رقم ({ $currency }، { $min } سے { $max } تک)
link-continue = ادائیگی کی طرف بڑھیں
link-amount-invalid = رقم { $min } سے { $max } { $currency } کے درمیان ہونی چاہیے
link-expired = اس ادائیگی لنک کی میعاد ختم ہو گئی ہے۔
link-full = اس ادائیگی لنک پر جتنی ادائیگیاں ہونی تھیں، ہو چکی ہیں۔
link-deactivated = دکان نے یہ ادائیگی لنک بند کر دیا ہے۔

## Pages shown instead of the checkout
not-found-title = ادائیگی نہیں ملی
not-found-text = یہ ادائیگی لنک درست نہیں۔ آپ کو دیا گیا لنک چیک کریں۔
link-not-found-title = لنک نہیں ملا
form-expired-title = اس فارم کی میعاد ختم ہو گئی ہے
form-expired-text = ادائیگی کا صفحہ دوبارہ لوڈ کریں اور پھر کوشش کریں۔
busy-title = مصروف
busy-text = اس لنک کی بہت سی ادائیگیاں زیرِ التوا ہیں؛ چند منٹ بعد دوبارہ کوشش کریں۔
error-title = کچھ غلط ہو گیا
error-text = کوئی رقم نہیں کاٹی گئی۔ براہِ کرم تھوڑی دیر بعد دوبارہ کوشش کریں۔
error-text-id = کوئی رقم نہیں کاٹی گئی۔ براہِ کرم تھوڑی دیر بعد دوبارہ کوشش کریں؛ اگر پھر ایسا ہو تو دکان کو یہ درخواست نمبر دیں: { $id }

## The receipt e-mailed to the customer
receipt-subject = { $merchant } کی رسید · { $amount }
refund-subject = { $merchant } کی طرف سے رقم کی واپسی · { $amount }
receipt-thanks = { $merchant } کو ادائیگی کا شکریہ۔
refund-sent = { $merchant } نے آپ کی ادائیگی میں سے { $amount } واپس کر دیے ہیں۔
refunded = واپس کی گئی رقم
refunded-on = تاریخِ واپسی
receipt-for = برائے
receipt-keep = یہ ای میل اپنی رسید کے طور پر محفوظ رکھیں۔ اس ادائیگی کے بارے میں سوالات کے لیے { $merchant } سے رابطہ کریں۔
