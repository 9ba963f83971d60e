-- The record a legal check reads (issue: legal checks C1–C16). Each step of the procedure
-- keeps its date and, where the law asks for one, the approval that allowed it; dates are ISO
-- text as everywhere. Columns stay NULL where a step did not happen.
ALTER TABLE cases ADD COLUMN filing_extended_on TEXT;        -- 立案延期批准 (办法 Art 18)
ALTER TABLE cases ADD COLUMN term_extended_on TEXT;          -- 办案期限延长批准 (办法 Art 57)
ALTER TABLE cases ADD COLUMN term_discussed_on TEXT;         -- 继续延期集体讨论 (办法 Art 57)
ALTER TABLE cases ADD COLUMN continuing BIGINT NOT NULL DEFAULT 0;          -- 连续或继续状态
ALTER TABLE cases ADD COLUMN special_limitation BIGINT NOT NULL DEFAULT 0;  -- 5年时效 (处罚法 Art 36)
ALTER TABLE cases ADD COLUMN statement_waived_on TEXT;       -- 书面放弃陈述申辩、听证
ALTER TABLE cases ADD COLUMN hearing_notice_on TEXT;         -- 听证通知
ALTER TABLE cases ADD COLUMN collective_discussion_on TEXT;  -- 集体讨论 (处罚法 Art 57)
ALTER TABLE cases ADD COLUMN legal_review_on TEXT;           -- 法制审核 (处罚法 Art 58)
ALTER TABLE cases ADD COLUMN decision_no TEXT NOT NULL DEFAULT '';            -- 处罚决定书文号
ALTER TABLE cases ADD COLUMN service_method TEXT NOT NULL DEFAULT '';         -- 送达方式
ALTER TABLE cases ADD COLUMN service_consent BIGINT NOT NULL DEFAULT 0;     -- 电子送达确认书
ALTER TABLE cases ADD COLUMN deferral_approved_on TEXT;      -- 延期/分期缴纳批准
ALTER TABLE cases ADD COLUMN late_fee_fen BIGINT NOT NULL DEFAULT 0;        -- 加处罚款
ALTER TABLE cases ADD COLUMN confiscation_fen BIGINT NOT NULL DEFAULT 0;    -- 没收违法所得
ALTER TABLE cases ADD COLUMN enforcement_applied_on TEXT;    -- 申请强制执行
ALTER TABLE cases ADD COLUMN disclosed_on TEXT;              -- 处罚决定公开
ALTER TABLE cases ADD COLUMN closure_type TEXT NOT NULL DEFAULT '';           -- 结案类型
ALTER TABLE cases ADD COLUMN preserved_on TEXT;              -- 先行登记保存 (处罚法 Art 56)
ALTER TABLE cases ADD COLUMN preservation_approved_on TEXT;
ALTER TABLE cases ADD COLUMN preservation_handled_on TEXT;
ALTER TABLE measures ADD COLUMN correction_served_on TEXT;   -- 按日连续处罚: 责令改正决定书送达
ALTER TABLE referrals ADD COLUMN report_on TEXT;             -- 涉嫌犯罪案件移送报告 (国务院令310 Art 5)
ALTER TABLE referrals ADD COLUMN approved_on TEXT;           -- 负责人批准移送
-- The working-day calendar: statutory holidays and make-up working days (调休上班), seeded
-- from the State Council's yearly notices; an administrator adds a year.
CREATE TABLE holidays (
    day    TEXT PRIMARY KEY,
    kind   TEXT NOT NULL,                -- holiday | workday
    name   TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT ''
);
