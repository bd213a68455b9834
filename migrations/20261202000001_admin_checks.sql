-- Admin status is asked of Slack at sign-in and again while a session lives, so a session keeps
-- who signed in (their workspace and organisation) and when Slack last confirmed their role.
ALTER TABLE sessions ADD COLUMN person_team_id TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN person_enterprise_id TEXT;
ALTER TABLE sessions ADD COLUMN checked_at INTEGER NOT NULL DEFAULT 0;
