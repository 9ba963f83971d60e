-- Assessment (科学考核): the scoring rules a run used and the frozen runs.
-- A rule set is one version of a rule file, stored as its TOML text and identified by the
-- text's SHA-256, so the same file run twice is one version and an edited file a new one.
-- A run keeps its whole result (scores, ranks, metric values) and the case ids behind every
-- value: it never changes when the ledger or the rules change later.

CREATE TABLE assessment_rule_sets (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    year       INTEGER NOT NULL,
    subject    TEXT NOT NULL,             -- collective | individual
    level      TEXT NOT NULL,             -- province | city | county
    rules_toml TEXT NOT NULL,
    sha256     TEXT NOT NULL UNIQUE,      -- of rules_toml
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
);

CREATE TABLE assessment_runs (
    id            INTEGER PRIMARY KEY,
    rule_set_id   INTEGER NOT NULL REFERENCES assessment_rule_sets(id),
    year          INTEGER NOT NULL,
    half          INTEGER,                -- 1 | 2, or NULL for the year
    region_code   TEXT NOT NULL,          -- the area whose units were ranked
    created_at    TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    result_json   TEXT NOT NULL,          -- the printed result, without the run id
    evidence_json TEXT NOT NULL           -- {unit: {metric: [case ids]}}
);
CREATE INDEX assessment_runs_year ON assessment_runs(year, region_code);
