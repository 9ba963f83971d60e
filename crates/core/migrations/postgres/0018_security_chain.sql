-- Security events join the anchored hash chain (see `chain`): each row links to the one
-- before it (SHA-256) and carries a MAC under the key outside the database. Rows written
-- before this migration are chained in id order at the next start (`auth::chain_security_events`).
ALTER TABLE security_events ADD COLUMN prev_hash TEXT;
ALTER TABLE security_events ADD COLUMN hash TEXT;
ALTER TABLE security_events ADD COLUMN mac TEXT;
