-- Short contains-searches in the case list (issue #16): one or two characters have no trigram
-- for 0016's indexes to look up. The parties are few (thousands, against a million cases), so
-- the store scans them; the 案号 are many, so this table holds every one- and two-character
-- piece (ASCII lower-cased) of any 案号 ever stored. A query none of the 案号 holds is then
-- answered from the parties alone, through the cases' facility index. Pieces are never
-- removed: a stale one only sends a query to the slower ILIKE path, never hides a match.
-- SQLite's file does the same with a positions table and triggers, so the two differ whole.
CREATE TABLE case_no_grams (gram TEXT PRIMARY KEY);
CREATE FUNCTION case_no_grams_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO case_no_grams (gram)
    SELECT DISTINCT translate(substr(NEW.case_no, p, w), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
    FROM generate_series(1, length(NEW.case_no)) p, (VALUES (1), (2)) v(w)
    WHERE p + w - 1 <= length(NEW.case_no)
    ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;
INSERT INTO case_no_grams (gram)
  SELECT DISTINCT translate(substr(c.case_no, p, w), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
  FROM cases c, generate_series(1, length(c.case_no)) p, (VALUES (1), (2)) v(w)
  WHERE p + w - 1 <= length(c.case_no)
  ON CONFLICT DO NOTHING;
CREATE TRIGGER case_no_grams_insert AFTER INSERT OR UPDATE OF case_no ON cases FOR EACH ROW EXECUTE FUNCTION case_no_grams_add();
