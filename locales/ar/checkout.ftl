# The customer's pages: the checkout (/pay/{id}), a payment link's page (/l/{slug}) and the
# messages shown instead of them. Every language has every message of this file; a test fails
# when one is missing. Brand names (UPI, JazzCash, Easypaisa, bKash, Nagad, Hundi) and codes
# the customer types (MM/YY, 123456) stay as they are.

## The page around the payment
page-title = الدفع إلى { $merchant } · { $amount }
link-page-title = الدفع إلى { $merchant }
test-mode = وضع الاختبار
secured-by = محمي بواسطة Hundi
language = اللغة
processing = جارٍ المعالجة…

## Waiting for the customer
# { $time } is the live countdown (14:59).
pay-within = ادفع خلال { $time }
no-method = لا تتوفر طريقة دفع لهذه الدفعة.
waiting = ستنتقل هذه الصفحة تلقائيًا عند وصول دفعتك.
cancel = إلغاء والعودة إلى { $merchant }

## The one-time code
enter-code = أدخل الرمز
otp-label = رمز لمرة واحدة
otp-card = أرسل مصرفك رمزًا للبطاقة المنتهية بـ { $last4 }. في وضع الاختبار الرمز هو 123456.
otp-phone = أرسلنا رمزًا إلى الرقم المنتهي بـ { $last4 }. في وضع الاختبار الرمز هو 123456.
otp-other = أدخل الرمز الذي وصلك. في وضع الاختبار الرمز هو 123456.
confirm-and-pay = تأكيد ودفع { $amount }

## UPI and wallet transfers: the customer sends the exact amount from their own app
upi-scan = امسح الرمز بأي تطبيق UPI، أو افتح تطبيقًا على هذا الهاتف. ادفع المبلغ بالضبط:
# { $payee } is the name of who is paid, followed by their UPI id or wallet number.
to-payee = إلى { $payee }
upi-open = افتح في تطبيق UPI
transfer-send = من تطبيق { $wallet } أرسل المال إلى هذا الحساب. أرسل المبلغ بالضبط:
transfer-reference = المرجع (إن طلبه التطبيق):
transfer-exact = المبلغ هو ما يميّز دفعتك: أرسله في تحويل واحد، لا أكثر ولا أقل.

## The card and wallet forms
method-card = بطاقة
card-number = رقم البطاقة
card-expiry = تاريخ الانتهاء
card-cvc = CVC
pay = ادفع { $amount }
wallet-number = رقم الهاتف المحمول في { $wallet }
pay-with = ادفع { $amount } عبر { $wallet }

## What the customer must correct
error-card-number-missing = أدخل رقم البطاقة
error-card-number-invalid = رقم البطاقة هذا غير صالح
error-expiry-format = أدخل تاريخ الانتهاء بصيغة MM/YY
error-card-expired = انتهت صلاحية هذه البطاقة
error-cvc = أدخل رمز الأمان المكوّن من 3 أو 4 أرقام
error-phone = أدخل رقم هاتفك المحمول بالشكل { $shape }

## Why a try did not pay
decline-card-declined = رُفضت بطاقتك. جرّب بطاقة أخرى.
decline-card-insufficient-funds = الرصيد في بطاقتك غير كافٍ. جرّب بطاقة أخرى.
decline-wallet-declined = رفضت { $wallet } هذه الدفعة. جرّب طريقة أخرى.
decline-wallet-insufficient-funds = رصيدك في { $wallet } غير كافٍ.
decline-incorrect-otp = الرمز غير صحيح. ابدأ من جديد للحصول على رمز جديد.
decline-code-used = استُخدم هذا الرمز من قبل. ابدأ من جديد.
decline-start-again = ابدأ من جديد.
decline-other = لم تُقبل هذه الدفعة. جرّب طريقة أخرى.

## The end of a payment
paid-title = تم الدفع بنجاح
paid-to = المستفيد
amount = المبلغ
paid-with = طريقة الدفع
paid-on = تاريخ الدفع
payment = الدفعة
paid-with-upi = UPI · UTR { $utr }
paid-with-transfer = { $wallet } · رقم العملية { $id }
return-to = العودة إلى { $merchant }
canceled-title = أُلغيت الدفعة
no-money-taken = لم يُخصم أي مبلغ.
expired-title = انتهت صلاحية هذه الدفعة
expired-text = لم يعد ممكنًا الدفع عبر هذا الرابط. اطلب رابطًا جديدًا من { $merchant }.
failed-title = تعذّر إتمام هذه الدفعة
failed-text = لم يُخصم أي مبلغ. اطلب رابط دفع جديدًا من { $merchant }.

## A payment link's page
link-amount = المبلغ ({ $currency }، من { $min } إلى { $max })
link-continue = متابعة إلى الدفع
link-amount-invalid = يجب أن يكون المبلغ من { $min } إلى { $max } { $currency }
link-expired = انتهت صلاحية رابط الدفع هذا.
link-full = استُوفيت كل الدفعات التي أُنشئ لها رابط الدفع هذا.
link-deactivated = أوقف المتجر رابط الدفع هذا.

## Pages shown instead of the checkout
not-found-title = الدفعة غير موجودة
not-found-text = رابط الدفع هذا غير صالح. تحقّق من الرابط الذي وصلك.
link-not-found-title = الرابط غير موجود
form-expired-title = انتهت صلاحية هذا النموذج
form-expired-text = أعد تحميل صفحة الدفع وحاول مرة أخرى.
busy-title = مشغول
busy-text = هناك دفعات كثيرة معلّقة لهذا الرابط؛ حاول مرة أخرى بعد بضع دقائق.
error-title = حدث خطأ ما
error-text = لم يُخصم أي مبلغ. يرجى المحاولة مرة أخرى بعد قليل.
error-text-id = لم يُخصم أي مبلغ. يرجى المحاولة مرة أخرى بعد قليل؛ وإن تكرر ذلك فأعطِ المتجر رقم الطلب هذا: { $id }

## The receipt e-mailed to the customer
receipt-subject = إيصال من { $merchant } · { $amount }
refund-subject = استرداد من { $merchant } · { $amount }
receipt-thanks = شكرًا لدفعتك إلى { $merchant }.
refund-sent = أعاد { $merchant } إليك { $amount } من دفعتك.
refunded = المبلغ المسترد
refunded-on = تاريخ الاسترداد
receipt-for = مقابل
receipt-keep = احتفظ بهذه الرسالة إيصالًا لدفعتك. لأي سؤال عن هذه الدفعة تواصل مع { $merchant }.
