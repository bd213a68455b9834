-- Trust (issue 11): admin checks kept with each session, spent join-form tokens. (One open request
-- per mailbox, case-insensitively, is in the next migration's change of invite_requests.)

-- Admin status is asked of Slack at sign-in and again while a session lives, so a session keeps
-- who signed in (their workspace and organisation) and when Slack last confirmed their role.
ALTER TABLE sessions ADD COLUMN person_team_id TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN person_enterprise_id TEXT;
ALTER TABLE sessions ADD COLUMN checked_at BIGINT NOT NULL DEFAULT 0;

-- Join-form tokens already used for an accepted submission (SHA-256 of the token), until the token
-- would have expired anyway: each form sends one request.
CREATE TABLE used_form_tokens (
    token_hash BYTEA PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX used_form_tokens_expires_at ON used_form_tokens (expires_at);
