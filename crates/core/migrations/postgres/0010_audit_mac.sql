-- The audit log's keyed MAC (HMAC-SHA256 with a key kept outside the database, see
-- `anchor`): NULL for entries written before the key existed, which are verified by their
-- hash chain only.
ALTER TABLE audit_log ADD COLUMN mac TEXT;
