-- Dismissals suppress the same finding on that outlet, not only its window: analysts dismiss
-- for a known, lasting cause, and a window-only suppression let the same finding back the
-- next day. A suppression now covers findings of the same MN, signature and factor whose
-- window overlaps [start_ts, until_ts), until_ts NULL meaning until lifted; start_ts and end_ts
-- stay the dismissed finding's window, for the record. A lifted suppression (lifted_at set)
-- suppresses nothing and stays listed with who lifted it and why.
ALTER TABLE suppressions ADD COLUMN until_ts INTEGER;
ALTER TABLE suppressions ADD COLUMN lifted_at TEXT;
ALTER TABLE suppressions ADD COLUMN lifted_by TEXT;
ALTER TABLE suppressions ADD COLUMN lift_reason TEXT;
-- Suppressions written before this migration covered the finding's window only.
UPDATE suppressions SET until_ts = end_ts;
-- A dismissed lead's page shows its suppressions.
CREATE INDEX suppressions_lead ON suppressions(lead_id);
