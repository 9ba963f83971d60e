-- Assessment tasks (挂图作战): an indicator of a rule set decomposed into tasks, each with an
-- owner (a unit, by region code, or an officer, by username), a deadline, progress and
-- evidence. region_code/city_code are the owner's (an officer's own region), so scopes and
-- the per-unit metric tasks.completion read them like any regional record. The uploaded
-- evidence file is kept in the data directory (evidence_path, relative to it).

CREATE TABLE assessment_tasks (
    id            BIGSERIAL PRIMARY KEY,
    rule_set_id   BIGINT NOT NULL REFERENCES assessment_rule_sets(id),
    indicator_id  TEXT NOT NULL,
    title         TEXT NOT NULL,
    owner_kind    TEXT NOT NULL,             -- unit | officer
    owner         TEXT NOT NULL,             -- region code or username
    region_code   TEXT NOT NULL,
    city_code     TEXT NOT NULL,
    deadline      TEXT NOT NULL,             -- YYYY-MM-DD
    progress      INTEGER NOT NULL DEFAULT 0, -- 0..100
    status        TEXT NOT NULL DEFAULT 'open', -- open | done
    done_on       TEXT,                      -- the day it was marked done
    evidence      TEXT NOT NULL DEFAULT '',
    evidence_name TEXT,
    evidence_path TEXT,
    created_at    TEXT NOT NULL,
    created_by    TEXT NOT NULL
);
CREATE INDEX assessment_tasks_deadline ON assessment_tasks(deadline);
