-- Statistics over a province-year scan one covering index in (year, region) order instead of
-- the table; the sparse links (providers, task forces) are found by index.
CREATE INDEX cases_stats ON cases(year, city_code, region_code, status, fine_fen, filed_on, discovered_on);
CREATE INDEX cases_third_party ON cases(third_party_id);
CREATE INDEX cases_task_force ON cases(task_force_id);
