-- Foundation: organisation, accounts, sessions, audit log, facilities and the core of the case ledger.
-- PostgreSQL twin of migrations/sqlite: keep the two in step.
-- Dates are ISO-8601 TEXT ('YYYY-MM-DD'), instants RFC 3339 UTC TEXT, money whole fen INTEGER:
-- the same representation on SQLite and PostgreSQL, so one set of queries serves both.

CREATE TABLE regions (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    level       TEXT NOT NULL,           -- province | city | county
    parent_code TEXT REFERENCES regions(code),
    city_code   TEXT NOT NULL            -- the city it reports to (itself for cities and peers)
);

CREATE TABLE units (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,           -- corps | detachment | brigade
    region_code TEXT NOT NULL REFERENCES regions(code),
    city_code   TEXT NOT NULL,
    case_prefix TEXT NOT NULL
);

CREATE TABLE officers (
    id             BIGSERIAL PRIMARY KEY,
    name           TEXT NOT NULL,
    unit_id        BIGINT NOT NULL REFERENCES units(id),
    certificate_no TEXT UNIQUE,
    region_code    TEXT NOT NULL,
    city_code      TEXT NOT NULL,
    active         BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX officers_unit ON officers(unit_id);

CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    region_code   TEXT NOT NULL REFERENCES regions(code),
    city_code     TEXT NOT NULL,
    disabled      BIGINT NOT NULL DEFAULT 0,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until  TEXT,
    created_at    TEXT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY,      -- assigned under a lock: a gap means a deleted entry
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    before_json TEXT,
    after_json  TEXT,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_log_entity ON audit_log(entity, entity_id);

CREATE TABLE security_events (
    id       BIGSERIAL PRIMARY KEY,
    at       TEXT NOT NULL,
    kind     TEXT NOT NULL,
    username TEXT,
    peer     TEXT,
    path     TEXT,
    detail   TEXT NOT NULL
);

CREATE TABLE facilities (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL,
    credit_code TEXT NOT NULL UNIQUE,
    region_code TEXT NOT NULL REFERENCES regions(code),
    city_code   TEXT NOT NULL,
    industry    TEXT NOT NULL,
    address     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX facilities_region ON facilities(region_code);

CREATE TABLE cases (
    id            BIGSERIAL PRIMARY KEY,
    case_no       TEXT NOT NULL UNIQUE,
    unit_id       BIGINT NOT NULL REFERENCES units(id),
    region_code   TEXT NOT NULL REFERENCES regions(code),
    city_code     TEXT NOT NULL,
    facility_id   BIGINT NOT NULL REFERENCES facilities(id),
    source        TEXT NOT NULL,
    status        TEXT NOT NULL,
    violation     TEXT NOT NULL,
    legal_basis   TEXT NOT NULL DEFAULT '',
    discovered_on TEXT NOT NULL,
    filed_on      TEXT,
    decided_on    TEXT,
    closed_on     TEXT,
    fine_fen      BIGINT NOT NULL DEFAULT 0,
    year          BIGINT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX cases_region_year ON cases(region_code, year, discovered_on);
CREATE INDEX cases_city_year ON cases(city_code, year, discovered_on);
CREATE INDEX cases_year ON cases(year, discovered_on);
CREATE INDEX cases_facility ON cases(facility_id);
