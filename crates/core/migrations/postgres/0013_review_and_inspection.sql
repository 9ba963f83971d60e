-- PostgreSQL twin of migrations/sqlite/0013_review_and_inspection.sql: keep the two in step.
-- Dossier review (案卷评查) and inspection audits (稽查).
-- A review sheet is data with versions: every save is a new row, and a review keeps the id of
-- the version it was filled against. A plan stores its seed and minimums, so its random draw
-- can be repeated; its dossiers are the drawn cases (how = random) and the units' own choices
-- (how = chosen). An assignment is one reviewer's sheet for one dossier (first, second or
-- arbiter), with the marks as JSON and the score in hundredths of a point.

CREATE TABLE review_sheets (
    id         BIGSERIAL PRIMARY KEY,
    version    BIGINT NOT NULL UNIQUE,
    sheet_json TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
);

CREATE TABLE review_plans (
    id            BIGSERIAL PRIMARY KEY,
    year          BIGINT NOT NULL,
    region_code   TEXT NOT NULL,
    city_code     TEXT NOT NULL,
    seed          BIGINT NOT NULL,
    size          BIGINT NOT NULL,
    min_per_type  BIGINT NOT NULL,
    min_per_unit  BIGINT NOT NULL,
    margin_x100   BIGINT NOT NULL,      -- scores further apart than this call an arbiter
    created_at    TEXT NOT NULL,
    created_by    TEXT NOT NULL
);

CREATE TABLE review_dossiers (
    id          BIGSERIAL PRIMARY KEY,
    plan_id     BIGINT NOT NULL REFERENCES review_plans(id),
    case_id     BIGINT NOT NULL REFERENCES cases(id),
    case_no     TEXT NOT NULL,
    unit        TEXT NOT NULL,
    case_type   TEXT NOT NULL,
    how         TEXT NOT NULL,           -- random | chosen
    region_code TEXT NOT NULL,
    city_code   TEXT NOT NULL,
    UNIQUE (plan_id, case_id)
);
CREATE INDEX review_dossiers_case ON review_dossiers(case_id);

CREATE TABLE review_assignments (
    id           BIGSERIAL PRIMARY KEY,
    dossier_id   BIGINT NOT NULL REFERENCES review_dossiers(id),
    reviewer     TEXT NOT NULL,          -- username
    role         TEXT NOT NULL,          -- first | second | arbiter
    sheet_id     BIGINT REFERENCES review_sheets(id),
    marks_json   TEXT,
    score_x100   BIGINT,
    passed       BIGINT,
    submitted_at TEXT,
    UNIQUE (dossier_id, role)
);
CREATE INDEX review_assignments_reviewer ON review_assignments(reviewer);

CREATE TABLE audits (
    id          BIGSERIAL PRIMARY KEY,
    region_code TEXT NOT NULL,           -- the audited unit's region
    city_code   TEXT NOT NULL,
    scope       TEXT NOT NULL,
    period_from TEXT NOT NULL,
    period_to   TEXT NOT NULL,
    team        TEXT NOT NULL,           -- usernames, comma-separated
    starts_on   TEXT NOT NULL,
    ends_on     TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'open',  -- open | closed
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL
);

CREATE TABLE audit_checklist (
    id       BIGSERIAL PRIMARY KEY,
    audit_id BIGINT NOT NULL REFERENCES audits(id),
    kind     TEXT NOT NULL,              -- files | interviews | site_visits
    item     TEXT NOT NULL,
    done     BIGINT NOT NULL DEFAULT 0,
    note     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_checklist_audit ON audit_checklist(audit_id);

CREATE TABLE audit_findings (
    id         BIGSERIAL PRIMARY KEY,
    audit_id   BIGINT NOT NULL REFERENCES audits(id),
    grade      TEXT NOT NULL,            -- meets | attention | improvement
    title      TEXT NOT NULL,
    evidence   TEXT NOT NULL,
    rule       TEXT,                     -- the platform-data comparison rule behind it, if any
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE INDEX audit_findings_audit ON audit_findings(audit_id);

CREATE TABLE rectifications (
    id         BIGSERIAL PRIMARY KEY,
    finding_id BIGINT NOT NULL REFERENCES audit_findings(id),
    item       TEXT NOT NULL,
    owner      TEXT NOT NULL,
    deadline   TEXT NOT NULL,
    progress   TEXT NOT NULL DEFAULT '',
    evidence   TEXT NOT NULL DEFAULT '',
    closed_on  TEXT,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE INDEX rectifications_finding ON rectifications(finding_id);
