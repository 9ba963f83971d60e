-- What a dossier review reads beyond the dates (issue #12, assessment.md §2.3): who approved
-- each step, the evidence items, the provisions relied on as article references, the notice
-- and the party's statement or waiver, the hearing record and the discretion basis.

-- Approvals (审批) with the approver: 立案, 立案延期, 办案期限延长, 继续延期 (集体讨论),
-- 中止, 终止, 结案. An extension's approval also dates the case's extension column.
CREATE TABLE case_approvals (
    id          BIGSERIAL PRIMARY KEY,
    case_id     BIGINT NOT NULL REFERENCES cases(id),
    kind        TEXT NOT NULL,            -- filing | filing_extension | term_extension | term_collective | suspension | termination | closure
    approved_on TEXT NOT NULL,
    approver    TEXT NOT NULL,            -- 批准人 (负责人; 集体讨论: 参加的负责人)
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX case_approvals_case ON case_approvals(case_id);

-- Evidence items (处罚法 Art 46 kinds): what, when collected and by whom.
CREATE TABLE case_evidence (
    id           BIGSERIAL PRIMARY KEY,
    case_id      BIGINT NOT NULL REFERENCES cases(id),
    kind         TEXT NOT NULL,           -- documentary | physical | audiovisual | electronic | testimony | statement | expert_opinion | inspection_record
    description  TEXT NOT NULL,
    collected_on TEXT NOT NULL,
    collected_by TEXT NOT NULL,           -- officers' certificate numbers, 、-separated
    recorded_by  TEXT NOT NULL,
    recorded_at  TEXT NOT NULL
);
CREATE INDEX case_evidence_case ON case_evidence(case_id);

-- The legal basis as article references: the provision violated and the penalty provision.
CREATE TABLE case_provisions (
    id        BIGSERIAL PRIMARY KEY,
    case_id   BIGINT NOT NULL REFERENCES cases(id),
    role      TEXT NOT NULL,              -- violated | penalty
    law       TEXT NOT NULL,              -- 《…》 without the brackets
    article   INTEGER NOT NULL,           -- 条
    paragraph INTEGER,                    -- 款
    item      INTEGER,                    -- 项
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX case_provisions_case ON case_provisions(case_id);

ALTER TABLE cases ADD COLUMN notice_kind TEXT NOT NULL DEFAULT '';        -- penalty 事先告知 | hearing 听证告知
ALTER TABLE cases ADD COLUMN statement_on TEXT;                           -- 陈述申辩 heard (笔录 or written)
ALTER TABLE cases ADD COLUMN hearing_host TEXT NOT NULL DEFAULT '';       -- 听证主持人 (not an investigator, Art 64)
ALTER TABLE cases ADD COLUMN hearing_officers TEXT NOT NULL DEFAULT '';   -- investigators at the hearing
ALTER TABLE cases ADD COLUMN discretion_item TEXT NOT NULL DEFAULT '';    -- 裁量基准条目
ALTER TABLE cases ADD COLUMN discretion_factors TEXT NOT NULL DEFAULT ''; -- 从重/从轻/减轻情节

-- The last run of the legal checks over a statistical year and its findings, so the list of
-- failed checks answers from them: a case changed since the run (an audit entry after
-- `audit_seq`) is checked again when the list is read; a new calendar year clears the runs.
CREATE TABLE check_runs (
    year        INTEGER PRIMARY KEY,
    computed_at TEXT NOT NULL,
    audit_seq   BIGINT NOT NULL
);
CREATE TABLE check_findings (
    case_id     BIGINT NOT NULL,
    year        INTEGER NOT NULL,
    case_no     TEXT NOT NULL,
    region_code TEXT NOT NULL,
    city_code   TEXT NOT NULL,
    position    INTEGER NOT NULL,         -- the finding's place among its case's
    check_id    TEXT NOT NULL,
    severity    TEXT NOT NULL,            -- fail | advisory
    message     TEXT NOT NULL,
    dates       TEXT NOT NULL             -- JSON object: name → YYYY-MM-DD
);
CREATE INDEX check_findings_year ON check_findings(year, case_id, position);
CREATE INDEX check_findings_case ON check_findings(case_id);
