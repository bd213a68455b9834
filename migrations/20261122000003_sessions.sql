-- Dashboard sessions, and the indexes the dashboard's pages read through.

-- One row per signed-in browser. Only a SHA-256 of the session id (the cookie) is kept, so the
-- database file alone opens no session. Idle and absolute lifetimes are enforced on every read.
CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY,
    token_hash   BLOB NOT NULL UNIQUE,                    -- SHA-256 of the session cookie's value
    user_id      TEXT NOT NULL,                           -- the Slack user who signed in
    user_name    TEXT NOT NULL DEFAULT '',
    csrf_secret  BLOB NOT NULL,                           -- 32 random bytes; form tokens are an HMAC of it
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_last_seen ON sessions (last_seen_at);

-- The installations a session may manage, decided with Slack at sign-in. Removing an
-- installation takes it out of every session at once.
CREATE TABLE session_installations (
    session_id      INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    installation_id TEXT NOT NULL REFERENCES installations (id) ON DELETE CASCADE,
    PRIMARY KEY (session_id, installation_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX session_installations_installation ON session_installations (installation_id);

-- The request list without a status filter, newest first, a page at a time.
CREATE INDEX invite_requests_community_id ON invite_requests (community_id, id);
-- The 30-day funnel: an aggregate over a range of this index, without touching the table.
CREATE INDEX invite_requests_community_created ON invite_requests (community_id, created_at, status);
-- The audit log of one workspace, newest first.
CREATE INDEX audit_log_team_id ON audit_log (team_id, id);
