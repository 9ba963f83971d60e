-- Short contains-searches in the case list (issue #16): one or two characters have no trigram
-- for 0016's index to look up. The parties are few (thousands, against a million cases), so
-- the store scans them; the 案号 are many, so this table holds every one- and two-character
-- piece (ASCII lower-cased, as LIKE compares) of any 案号 ever stored. A query none of the
-- 案号 holds is then answered from the parties alone, through the cases' facility index,
-- instead of testing LIKE on every case. Pieces are never removed: a stale one only sends a
-- query to the slower LIKE path, never hides a match. A 案号 over 64 characters (the limit
-- `CaseNo` parses to, but raw SQL could store more) adds the empty piece, which sends every
-- short query to LIKE.
CREATE TABLE search_positions (n INTEGER PRIMARY KEY);
INSERT INTO search_positions (n) WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < 64) SELECT n FROM k;
CREATE TABLE case_no_grams (gram TEXT PRIMARY KEY) WITHOUT ROWID;
INSERT OR IGNORE INTO case_no_grams (gram) SELECT lower(substr(c.case_no, p.n, w.w)) FROM cases c, search_positions p, (SELECT 1 AS w UNION ALL SELECT 2) w WHERE p.n + w.w - 1 <= length(c.case_no);
INSERT OR IGNORE INTO case_no_grams (gram) SELECT '' FROM cases WHERE length(case_no) > 64 LIMIT 1;
CREATE TRIGGER case_no_grams_insert AFTER INSERT ON cases BEGIN INSERT OR IGNORE INTO case_no_grams (gram) SELECT lower(substr(new.case_no, p.n, w.w)) FROM search_positions p, (SELECT 1 AS w UNION ALL SELECT 2) w WHERE p.n + w.w - 1 <= length(new.case_no); INSERT OR IGNORE INTO case_no_grams (gram) SELECT '' WHERE length(new.case_no) > 64; END;
CREATE TRIGGER case_no_grams_update AFTER UPDATE OF case_no ON cases BEGIN INSERT OR IGNORE INTO case_no_grams (gram) SELECT lower(substr(new.case_no, p.n, w.w)) FROM search_positions p, (SELECT 1 AS w UNION ALL SELECT 2) w WHERE p.n + w.w - 1 <= length(new.case_no); INSERT OR IGNORE INTO case_no_grams (gram) SELECT '' WHERE length(new.case_no) > 64; END;
