# The customer's pages: the checkout (/pay/{id}), a payment link's page (/l/{slug}) and the
# messages shown instead of them. Every language has every message of this file; a test fails
# when one is missing. Brand names (UPI, JazzCash, Easypaisa, bKash, Nagad, Hundi) and codes
# the customer types (MM/YY, 123456) stay as they are.

## The page around the payment
page-title = Pay { $merchant } · { $amount }
link-page-title = Pay { $merchant }
test-mode = Test mode
secured-by = Secured by Hundi
language = Language
processing = Processing…

## Waiting for the customer
# { $time } is the live countdown (14:59).
pay-within = Pay within { $time }
no-method = No payment method is available for this payment.
waiting = This page moves on by itself when your payment arrives.
cancel = Cancel and return to { $merchant }

## The one-time code
enter-code = Enter the code
otp-label = One-time code
otp-card = Your bank sent a code for the card ending { $last4 }. In test mode it is 123456.
otp-phone = We sent a code to the number ending { $last4 }. In test mode it is 123456.
otp-other = Enter the code you received. In test mode it is 123456.
confirm-and-pay = Confirm and pay { $amount }

## UPI and wallet transfers: the customer sends the exact amount from their own app
upi-scan = Scan with any UPI app, or open one on this phone. Pay exactly:
# { $payee } is the name of who is paid, followed by their UPI id or wallet number.
to-payee = to { $payee }
upi-open = Open in UPI app
transfer-send = In your { $wallet } app, send money to this account. Send exactly:
transfer-reference = Reference (if the app asks):
transfer-exact = The amount identifies your payment: send it in one transfer, not more, not less.

## The card and wallet forms
method-card = Card
card-number = Card number
card-expiry = Expiry
card-cvc = CVC
pay = Pay { $amount }
wallet-number = { $wallet } mobile number
pay-with = Pay { $amount } with { $wallet }

## What the customer must correct
error-card-number-missing = Enter the card number
error-card-number-invalid = This card number is not valid
error-expiry-format = Enter the expiry as MM/YY
error-card-expired = This card has expired
error-cvc = Enter the 3 or 4 digit security code
error-phone = Enter your mobile number as { $shape }

## Why a try did not pay
decline-card-declined = Your card was declined. Try another card.
decline-card-insufficient-funds = Your card has insufficient funds. Try another card.
decline-wallet-declined = { $wallet } declined this payment. Try another method.
decline-wallet-insufficient-funds = Your { $wallet } balance is too low.
decline-incorrect-otp = The code was not correct. Start again to get a new one.
decline-code-used = This code has already been used. Start again.
decline-start-again = Start again.
decline-other = This payment was not accepted. Try another method.

## The end of a payment
paid-title = Payment successful
paid-to = Paid to
amount = Amount
paid-with = Paid with
paid-on = Paid on
payment = Payment
paid-with-upi = UPI · UTR { $utr }
paid-with-transfer = { $wallet } · transaction { $id }
return-to = Return to { $merchant }
canceled-title = Payment canceled
no-money-taken = No money was taken.
expired-title = This payment has expired
expired-text = Nothing can be paid on this link any more. Ask { $merchant } for a new one.
failed-title = This payment could not be completed
failed-text = No money was taken. Ask { $merchant } for a new payment link.

## A payment link's page
link-amount = Amount ({ $currency }, { $min } to { $max })
link-continue = Continue to payment
link-amount-invalid = The amount must be { $min } to { $max } { $currency }
link-expired = This payment link has expired.
link-full = This payment link has taken all the payments it was made for.
link-deactivated = This payment link has been turned off by the shop.

## Pages shown instead of the checkout
not-found-title = Payment not found
not-found-text = This payment link is not valid. Check the link you were given.
link-not-found-title = Link not found
form-expired-title = This form has expired
form-expired-text = Reload the payment page and try again.
busy-title = Busy
busy-text = Too many payments of this link are waiting; try again in a few minutes.
error-title = Something went wrong
error-text = Nothing was charged. Please try again in a moment.
error-text-id = Nothing was charged. Please try again in a moment; if it happens again, give the shop this request id: { $id }

## The receipt e-mailed to the customer
receipt-subject = Receipt from { $merchant } · { $amount }
refund-subject = Refund from { $merchant } · { $amount }
receipt-thanks = Thank you for your payment to { $merchant }.
refund-sent = { $merchant } has refunded { $amount } of your payment.
refunded = Refunded
refunded-on = Refunded on
receipt-for = For
receipt-keep = Keep this e-mail as your receipt. For questions about this payment, contact { $merchant }.
