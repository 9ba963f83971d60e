-- Individual assessment (个人考核): an account may be an officer's, so an officer reads their own
-- score sheet and no one else's. NULL: the account is no officer's (leaders, analysts, admins).
ALTER TABLE users ADD COLUMN officer_id INTEGER REFERENCES officers(id);
