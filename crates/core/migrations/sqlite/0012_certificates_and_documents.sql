-- An officer may act only while their enforcement certificate is valid (行政处罚法 Art 42):
-- the day it was issued and the day it expires, so a check judges qualification at the date
-- of the act, not today. NULL: not recorded (treated as valid).
ALTER TABLE officers ADD COLUMN certified_on TEXT;
ALTER TABLE officers ADD COLUMN certificate_expires_on TEXT;
ALTER TABLE case_documents ADD COLUMN doc_no TEXT NOT NULL DEFAULT '';             -- 文书编号
