-- PostgreSQL twin of migrations/sqlite/0002_ledger.sql: keep the two in step.
-- The full case ledger: lifecycle dates, officers, documents, supporting measures, referrals,
-- campaigns, task forces, typical-case batches, third-party providers, and work between
-- departments. Same representation rules as 0001 (ISO dates as TEXT, money in fen).


CREATE TABLE third_parties (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT NOT NULL,
    credit_code   TEXT NOT NULL UNIQUE,
    service_types TEXT NOT NULL,          -- comma-separated third-party sub-types
    region_code   TEXT NOT NULL REFERENCES regions(code),
    city_code     TEXT NOT NULL
);

CREATE TABLE task_forces (
    id                BIGSERIAL PRIMARY KEY,
    name              TEXT NOT NULL,
    theme             TEXT NOT NULL,      -- hazardous_waste | monitoring_fraud | other
    leader            TEXT NOT NULL,      -- e.g. the deputy director-general leading it
    region_code       TEXT NOT NULL REFERENCES regions(code),
    city_code         TEXT NOT NULL,
    established_on    TEXT NOT NULL,
    outcome           TEXT NOT NULL DEFAULT ''
);
CREATE TABLE task_force_members (
    task_force_id BIGINT NOT NULL REFERENCES task_forces(id),
    officer_id    BIGINT NOT NULL REFERENCES officers(id),
    PRIMARY KEY (task_force_id, officer_id)
);

ALTER TABLE cases ADD COLUMN investigation_on TEXT;
ALTER TABLE cases ADD COLUMN prior_notice_on TEXT;
ALTER TABLE cases ADD COLUMN hearing_requested_on TEXT;
ALTER TABLE cases ADD COLUMN hearing_held_on TEXT;
ALTER TABLE cases ADD COLUMN served_on TEXT;
ALTER TABLE cases ADD COLUMN paid_on TEXT;
ALTER TABLE cases ADD COLUMN violation_ended_on TEXT;
-- Comma-separated penalty kinds: warning, fine, confiscation, permit_suspension, ...
ALTER TABLE cases ADD COLUMN penalty_kinds TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN third_party_id BIGINT REFERENCES third_parties(id);
-- testing | automatic_monitoring | vehicle_emission_testing | completion_acceptance | eia
ALTER TABLE cases ADD COLUMN third_party_subtype TEXT;
ALTER TABLE cases ADD COLUMN task_force_id BIGINT REFERENCES task_forces(id);
ALTER TABLE cases ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

CREATE TABLE case_officers (
    case_id    BIGINT NOT NULL REFERENCES cases(id),
    officer_id BIGINT NOT NULL REFERENCES officers(id),
    lead       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (case_id, officer_id)
);

-- Campaign tags (两打 sub-themes, 第三方打假, 清水蓝天, 划转职能): one row per case and tag.
CREATE TABLE case_tags (
    case_id BIGINT NOT NULL REFERENCES cases(id),
    tag     TEXT NOT NULL,
    PRIMARY KEY (case_id, tag)
);
CREATE INDEX case_tags_tag ON case_tags(tag, case_id);

-- Periods that do not count towards the 90-day decision deadline (中止, 听证, 鉴定, 送达 …).
CREATE TABLE case_suspensions (
    id       BIGSERIAL PRIMARY KEY,
    case_id  BIGINT NOT NULL REFERENCES cases(id),
    kind     TEXT NOT NULL,
    start_on TEXT NOT NULL,
    end_on   TEXT
);
CREATE INDEX case_suspensions_case ON case_suspensions(case_id);

CREATE TABLE case_documents (
    id          BIGSERIAL PRIMARY KEY,
    case_id     BIGINT NOT NULL REFERENCES cases(id),
    doc_type    BIGINT NOT NULL,         -- 1..33, the MEE 2016 templates
    title       TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    size        BIGINT NOT NULL,
    signed_on   TEXT,
    uploaded_at TEXT NOT NULL,
    uploaded_by TEXT NOT NULL
);
CREATE INDEX case_documents_case ON case_documents(case_id);

-- The supporting measures (配套办法) other than referrals.
CREATE TABLE measures (
    id              BIGSERIAL PRIMARY KEY,
    case_id         BIGINT NOT NULL REFERENCES cases(id),
    kind            TEXT NOT NULL,        -- seal_and_seize | production_restriction | daily_penalty
    decided_on      TEXT NOT NULL,
    items           TEXT NOT NULL DEFAULT '',   -- seized items (查封扣押清单)
    extended_on     TEXT,
    released_on     TEXT,
    restriction     TEXT,                 -- restriction | suspension (限产 / 停产)
    end_on          TEXT,
    reinspection_on TEXT,                 -- daily penalty: 复查
    days            BIGINT,
    amount_fen      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX measures_case ON measures(case_id);
CREATE INDEX measures_kind ON measures(kind, case_id);

-- Referrals to the police (detention, criminal) and to market regulators, with outcomes.
CREATE TABLE referrals (
    id                    BIGSERIAL PRIMARY KEY,
    case_id               BIGINT NOT NULL REFERENCES cases(id),
    kind                  TEXT NOT NULL,  -- detention | criminal | market_regulator
    agency                TEXT NOT NULL,
    referred_on           TEXT NOT NULL,
    accepted_on           TEXT,
    persons_detained      BIGINT NOT NULL DEFAULT 0,
    arrest_review_persons BIGINT NOT NULL DEFAULT 0,
    arrest_approved_persons BIGINT NOT NULL DEFAULT 0,
    prosecution_persons   BIGINT NOT NULL DEFAULT 0,
    guilty_plea_persons   BIGINT NOT NULL DEFAULT 0,
    note                  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX referrals_case ON referrals(case_id);
CREATE INDEX referrals_kind ON referrals(kind, case_id);

CREATE TABLE typical_batches (
    id           BIGSERIAL PRIMARY KEY,
    title        TEXT NOT NULL,
    theme        TEXT NOT NULL,           -- third_party_fraud | clear_water_blue_sky | transferred_duties | ...
    region_code  TEXT NOT NULL REFERENCES regions(code),
    city_code    TEXT NOT NULL,
    published_on TEXT NOT NULL
);
CREATE TABLE typical_cases (
    batch_id BIGINT NOT NULL REFERENCES typical_batches(id),
    case_id  BIGINT NOT NULL REFERENCES cases(id),
    PRIMARY KEY (batch_id, case_id)
);

-- Work between departments.
CREATE TABLE lead_transfers (
    id            BIGSERIAL PRIMARY KEY,
    direction     TEXT NOT NULL,          -- out | in
    department    TEXT NOT NULL,          -- 公安, 自然资源, 林业, 市场监管 …
    region_code   TEXT NOT NULL REFERENCES regions(code),
    city_code     TEXT NOT NULL,
    transferred_on TEXT NOT NULL,
    summary       TEXT NOT NULL,
    case_id       BIGINT REFERENCES cases(id),
    feedback_on   TEXT,
    feedback      TEXT NOT NULL DEFAULT ''
);
CREATE TABLE listed_supervisions (
    id          BIGSERIAL PRIMARY KEY,
    case_id     BIGINT NOT NULL REFERENCES cases(id),
    level       TEXT NOT NULL,            -- province | city
    joint_with  TEXT NOT NULL DEFAULT '', -- departments of a joint listing (联合挂牌督办)
    listed_on   TEXT NOT NULL,
    deadline    TEXT NOT NULL,
    closed_on   TEXT,
    note        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX listed_supervisions_case ON listed_supervisions(case_id);
CREATE TABLE cross_enforcements (
    id                 BIGSERIAL PRIMARY KEY,
    name               TEXT NOT NULL,
    inspector_region   TEXT NOT NULL REFERENCES regions(code),
    target_region      TEXT NOT NULL REFERENCES regions(code),
    target_city        TEXT NOT NULL,
    starts_on          TEXT NOT NULL,
    ends_on            TEXT NOT NULL,
    officers           BIGINT NOT NULL DEFAULT 0,
    problems_found     BIGINT NOT NULL DEFAULT 0,
    note               TEXT NOT NULL DEFAULT ''
);
CREATE INDEX cross_enforcements_target ON cross_enforcements(target_city);
