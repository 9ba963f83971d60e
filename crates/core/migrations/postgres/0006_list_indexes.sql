-- Case lists and the dashboard over a million cases (issue #3's load target).
--
-- The list pages first pick one page of case ids in (discovered_on DESC, id DESC) order from
-- an index alone, then join the page's 50 rows to units and facilities (late row lookup).
-- Each filter the list offers leads one index; the columns after (discovered_on, id) carry
-- the other filters and the scope, so a combined filter is evaluated on index entries and
-- never reads the table for rows it skips (OFFSET) or rejects. The city and county indexes
-- also carry fine_fen and filed_on, so a city or county dashboard reads only its own entries.
DROP INDEX IF EXISTS cases_year;
DROP INDEX IF EXISTS cases_city_year;
DROP INDEX IF EXISTS cases_region_year;
CREATE INDEX cases_list_year ON cases(year, discovered_on, id, city_code, region_code, status, source);
CREATE INDEX cases_list_city ON cases(city_code, year, discovered_on, id, region_code, status, source, fine_fen, filed_on);
CREATE INDEX cases_list_region ON cases(region_code, year, discovered_on, id, status, source, fine_fen, filed_on);
CREATE INDEX cases_list_status ON cases(status, year, discovered_on, id, city_code, region_code, source);
CREATE INDEX cases_list_source ON cases(source, year, discovered_on, id, city_code, region_code, status);
-- Lists without a year filter, newest first.
CREATE INDEX cases_list_recent ON cases(discovered_on, id, year, city_code, region_code, status, source);
-- The dashboard's one grouped scan (month, region, source, status) and the statistics' scan
-- read this index instead of the table: `source` joins the columns of 0003's cases_stats.
DROP INDEX IF EXISTS cases_stats;
CREATE INDEX cases_stats ON cases(year, city_code, region_code, status, source, fine_fen, filed_on, discovered_on);
ANALYZE cases;
