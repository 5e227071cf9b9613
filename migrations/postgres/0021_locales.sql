-- The language of a payment's pages and receipts when its creator named one (en, ur, ar, hi,
-- bn), and a merchant's default for customers whose browser prefers none of them.
ALTER TABLE payments ADD COLUMN locale TEXT;
ALTER TABLE merchants ADD COLUMN default_locale TEXT;
