-- Live wallet transfers: the merchant's wallet numbers, and credits of every rail (UPI,
-- JazzCash, Easypaisa, bKash, Nagad).

-- {"jazzcash": "03001234567", "bkash": "01712345678", ...}: where live wallet payments go.
ALTER TABLE merchants ADD COLUMN wallet_numbers TEXT;

-- The rail a credit came by; its reference (utr) is unique within the rail.
ALTER TABLE credits ADD COLUMN method TEXT NOT NULL DEFAULT 'upi';
DROP INDEX credits_utr;
CREATE UNIQUE INDEX credits_method_utr ON credits (merchant_id, livemode, method, utr);
