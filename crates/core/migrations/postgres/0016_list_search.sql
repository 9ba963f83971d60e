-- Contains-search in the case list (issue #16): "华联" finds 福州华联…, anywhere in the 案号,
-- the party's name or its credit code, over a million cases without reading them all.
--
-- PostgreSQL: pg_trgm's GIN indexes serve `ILIKE '%…%'` on the columns searched. SQLite's
-- file holds FTS5 trigram tables and their triggers instead, so the two differ whole (see
-- store.rs). Queries shorter than three characters have no trigram to look up and fall back
-- to a bounded LIKE in the store code on both backends.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX cases_case_no_trgm ON cases USING gin (case_no gin_trgm_ops);
CREATE INDEX facilities_name_trgm ON facilities USING gin (name gin_trgm_ops);
CREATE INDEX facilities_credit_code_trgm ON facilities USING gin (credit_code gin_trgm_ops);
-- The list sorted by filed date or fine walks these instead of sorting the scope's cases.
CREATE INDEX cases_list_filed ON cases(filed_on, id);
CREATE INDEX cases_list_fine ON cases(fine_fen, id);
