-- PostgreSQL twin of migrations/sqlite/0004_monitoring.sql: keep the two in step.
-- Monitoring registry: the outlets of facilities, the data logger (MN) that reports each, and per
-- factor the figures that screening needs. An outlet belongs to a facility (facilities already
-- hold the credit code and region), so scope filters join through facilities. Figures are exact
-- decimal TEXT as written in the registry file (limit 100, range 0-500): no binary rounding.

CREATE TABLE outlets (
    id          BIGSERIAL PRIMARY KEY,
    facility_id BIGINT NOT NULL REFERENCES facilities(id),
    name        TEXT NOT NULL,
    mn          TEXT NOT NULL UNIQUE,    -- HJ 212 monitoring-point code of the data logger
    password    TEXT NOT NULL,           -- HJ 212 PW the logger must send
    st          TEXT NOT NULL,           -- system code: 31 flue gas, 32 wastewater, …
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (facility_id, name)
);
CREATE INDEX outlets_facility ON outlets(facility_id);

CREATE TABLE outlet_factors (
    outlet_id       BIGINT NOT NULL REFERENCES outlets(id) ON DELETE CASCADE,
    code            TEXT NOT NULL,       -- HJ 212 factor code, e.g. a21026
    emission_limit  TEXT,                -- NULL: no limit applies
    unit            TEXT,
    range_low       TEXT,                -- instrument range
    range_high      TEXT,
    detection_limit TEXT,
    o2_ref          TEXT,                -- reference O2 (%) for converted (折算) values
    PRIMARY KEY (outlet_id, code)
);
