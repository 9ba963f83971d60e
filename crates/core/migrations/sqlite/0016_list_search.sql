-- Contains-search in the case list (issue #16): "华联" finds 福州华联…, anywhere in the 案号,
-- the party's name or its credit code, over a million cases without reading them all.
--
-- SQLite: FTS5 tables with the trigram tokenizer over the columns searched, holding no copy
-- of the text (external content), kept in step with their tables by triggers. A query of
-- three or more characters is a trigram phrase; shorter ones cannot be (a trigram index has
-- nothing to look up) and fall back to LIKE in the store code. PostgreSQL's pg_trgm serves
-- the same queries as GIN indexes under LIKE, so the two files differ whole (see store.rs).
CREATE VIRTUAL TABLE case_search USING fts5(case_no, content='cases', content_rowid='id', tokenize='trigram');
CREATE VIRTUAL TABLE facility_search USING fts5(name, credit_code, content='facilities', content_rowid='id', tokenize='trigram');
INSERT INTO case_search(case_search) VALUES ('rebuild');
INSERT INTO facility_search(facility_search) VALUES ('rebuild');
CREATE TRIGGER case_search_insert AFTER INSERT ON cases BEGIN INSERT INTO case_search(rowid, case_no) VALUES (new.id, new.case_no); END;
CREATE TRIGGER case_search_delete AFTER DELETE ON cases BEGIN INSERT INTO case_search(case_search, rowid, case_no) VALUES ('delete', old.id, old.case_no); END;
CREATE TRIGGER case_search_update AFTER UPDATE OF case_no ON cases BEGIN INSERT INTO case_search(case_search, rowid, case_no) VALUES ('delete', old.id, old.case_no); INSERT INTO case_search(rowid, case_no) VALUES (new.id, new.case_no); END;
CREATE TRIGGER facility_search_insert AFTER INSERT ON facilities BEGIN INSERT INTO facility_search(rowid, name, credit_code) VALUES (new.id, new.name, new.credit_code); END;
CREATE TRIGGER facility_search_delete AFTER DELETE ON facilities BEGIN INSERT INTO facility_search(facility_search, rowid, name, credit_code) VALUES ('delete', old.id, old.name, old.credit_code); END;
CREATE TRIGGER facility_search_update AFTER UPDATE OF name, credit_code ON facilities BEGIN INSERT INTO facility_search(facility_search, rowid, name, credit_code) VALUES ('delete', old.id, old.name, old.credit_code); INSERT INTO facility_search(rowid, name, credit_code) VALUES (new.id, new.name, new.credit_code); END;
-- The list sorted by filed date or fine walks these instead of sorting the scope's cases.
CREATE INDEX cases_list_filed ON cases(filed_on, id);
CREATE INDEX cases_list_fine ON cases(fine_fen, id);
