-- No query reads payments by API key alone (a key's revenue is a sum over its merchant's
-- payments), yet every create wrote this index: one index entry fewer per payment.
DROP INDEX IF EXISTS payments_by_key;
