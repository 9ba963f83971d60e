-- PostgreSQL twin of migrations/sqlite/0014_assessment_entries.sql: keep the two in step.
-- Assessment (科学考核): values entered by hand for the rules no ledger can measure — a yes/no
-- fact with its evidence, points given with a justification, a count to deduct for — one per
-- period, subject and key (`manual.<key>` in a rule file). Entering again replaces the value;
-- every entry and replacement is in the audit log, and a run keeps the value it used.

CREATE TABLE assessment_entries (
    id            BIGSERIAL PRIMARY KEY,
    year          BIGINT NOT NULL,
    half          BIGINT NOT NULL DEFAULT 0, -- 1 | 2, or 0 for the year
    subject_code  TEXT NOT NULL,              -- the unit's region code
    key           TEXT NOT NULL,              -- the metric without `manual.`
    value         DOUBLE PRECISION NOT NULL,
    justification TEXT NOT NULL,
    file_name     TEXT,                       -- the uploaded evidence, if any
    file_bytes    BYTEA,
    created_at    TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    UNIQUE (year, half, subject_code, key)
);
