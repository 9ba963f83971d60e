-- An officer may act only while their enforcement certificate is valid (行政处罚法 Art 42):
-- the day it was issued and the day it expires, so a check judges qualification at the date
-- of the act, not today. NULL: not recorded (treated as valid).
ALTER TABLE officers ADD COLUMN certified_on TEXT;
ALTER TABLE officers ADD COLUMN certificate_expires_on TEXT;
ALTER TABLE case_documents ADD COLUMN doc_no TEXT NOT NULL DEFAULT '';             -- 文书编号
-- Inspection (现场检查) and interview (调查询问) records: when, where and which officers,
-- to the minute, as the review guide asks of a 笔录.
CREATE TABLE case_records (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases(id),
    kind        TEXT NOT NULL,            -- inspection | interview
    started_at  TEXT NOT NULL,            -- China time, YYYY-MM-DDTHH:MM
    ended_at    TEXT NOT NULL,
    place       TEXT NOT NULL DEFAULT '',
    officers    TEXT NOT NULL,            -- certificate numbers, 、-separated
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX case_records_case ON case_records(case_id);
