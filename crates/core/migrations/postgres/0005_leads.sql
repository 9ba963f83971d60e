-- PostgreSQL twin of migrations/sqlite/0005_leads.sql: keep the two in step.
-- Screening leads (线索): per outlet and screening period, the merged findings of the screening
-- engine, ranked by score. An analyst accepts a lead into a case (case_id, source
-- off_site_screening) or dismisses it with a reason; a dismissal writes suppressions, so the
-- same findings on that outlet are not raised again. Scores are per mille (0–1000) integers,
-- as the store keeps only integers and text. Times: *_at ISO 8601 +08:00 text, *_ts Unix seconds.

CREATE TABLE leads (
    id          BIGSERIAL PRIMARY KEY,
    outlet_id   BIGINT NOT NULL REFERENCES outlets(id),
    mn          TEXT NOT NULL,
    region_code TEXT NOT NULL,           -- the facility's county (scope)
    city_code   TEXT NOT NULL,
    industry    TEXT NOT NULL,           -- the facility's industry, as registered
    period_from TEXT NOT NULL,           -- screened dates, YYYY-MM-DD (inclusive)
    period_to   TEXT NOT NULL,
    start_at    TEXT NOT NULL,           -- first finding's start
    end_at      TEXT NOT NULL,           -- last finding's end
    score       BIGINT NOT NULL,        -- per mille
    signatures  TEXT NOT NULL,           -- comma-separated signature ids, catalogue order
    status      TEXT NOT NULL DEFAULT 'open',  -- open | accepted | dismissed
    case_id     BIGINT REFERENCES cases(id),
    reason      TEXT NOT NULL DEFAULT '',      -- why dismissed
    decided_by  TEXT,
    decided_at  TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (outlet_id, period_from, period_to)  -- re-screening a period updates, never duplicates
);
CREATE INDEX leads_queue ON leads(status, score);
CREATE INDEX leads_region ON leads(region_code);
CREATE INDEX leads_city ON leads(city_code);
CREATE INDEX leads_case ON leads(case_id);

CREATE TABLE lead_findings (
    id          BIGSERIAL PRIMARY KEY,
    lead_id     BIGINT NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
    factor      TEXT,                    -- NULL: outlet-wide
    signature   TEXT NOT NULL,
    start_ts    BIGINT NOT NULL,
    end_ts      BIGINT NOT NULL,
    score       BIGINT NOT NULL,        -- per mille
    explanation TEXT NOT NULL,
    evidence    TEXT NOT NULL            -- JSON
);
CREATE INDEX lead_findings_lead ON lead_findings(lead_id);
CREATE INDEX lead_findings_signature ON lead_findings(signature, lead_id);

CREATE TABLE suppressions (
    id          BIGSERIAL PRIMARY KEY,
    outlet_id   BIGINT NOT NULL REFERENCES outlets(id),
    mn          TEXT NOT NULL,
    signature   TEXT NOT NULL,
    factor      TEXT,                    -- NULL: outlet-wide
    start_ts    BIGINT NOT NULL,        -- the dismissed finding's window
    end_ts      BIGINT NOT NULL,
    lead_id     BIGINT REFERENCES leads(id),
    reason      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX suppressions_mn ON suppressions(mn);
