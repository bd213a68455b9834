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

-- The funnel (requested -> invited -> joined) per community and UTC day (created_at / 86400) of
-- the request, kept by the triggers below, so the dashboard sums at most 30 rows per community
-- however many requests there are. "Invited" counts requests Slack invited or that were given the
-- invite link (joined ones included): invited, already_invited, link_shown, joined.
CREATE TABLE invite_funnel_days (
    community_id INTEGER NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    day          INTEGER NOT NULL,
    requested    INTEGER NOT NULL DEFAULT 0,
    invited      INTEGER NOT NULL DEFAULT 0,
    joined       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (community_id, day)
) STRICT, WITHOUT ROWID;

INSERT INTO invite_funnel_days (community_id, day, requested, invited, joined)
SELECT community_id, created_at / 86400, COUNT(*),
       SUM(status IN ('invited', 'already_invited', 'link_shown', 'joined')), SUM(status = 'joined')
FROM invite_requests GROUP BY community_id, created_at / 86400;

CREATE TRIGGER invite_funnel_on_insert AFTER INSERT ON invite_requests
BEGIN
    INSERT INTO invite_funnel_days (community_id, day, requested, invited, joined)
    VALUES (NEW.community_id, NEW.created_at / 86400, 1,
            NEW.status IN ('invited', 'already_invited', 'link_shown', 'joined'), NEW.status = 'joined')
    ON CONFLICT (community_id, day) DO UPDATE SET
        requested = requested + 1, invited = invited + excluded.invited, joined = joined + excluded.joined;
END;

-- Only changes that move a request between funnel stages (or days, or communities) do any work.
CREATE TRIGGER invite_funnel_on_update AFTER UPDATE OF status, community_id, created_at ON invite_requests
WHEN (OLD.status IN ('invited', 'already_invited', 'link_shown', 'joined'))
        != (NEW.status IN ('invited', 'already_invited', 'link_shown', 'joined'))
  OR (OLD.status = 'joined') != (NEW.status = 'joined')
  OR OLD.community_id != NEW.community_id
  OR OLD.created_at / 86400 != NEW.created_at / 86400
BEGIN
    UPDATE invite_funnel_days SET
        requested = requested - 1,
        invited = invited - (OLD.status IN ('invited', 'already_invited', 'link_shown', 'joined')),
        joined = joined - (OLD.status = 'joined')
    WHERE community_id = OLD.community_id AND day = OLD.created_at / 86400;
    INSERT INTO invite_funnel_days (community_id, day, requested, invited, joined)
    VALUES (NEW.community_id, NEW.created_at / 86400, 1,
            NEW.status IN ('invited', 'already_invited', 'link_shown', 'joined'), NEW.status = 'joined')
    ON CONFLICT (community_id, day) DO UPDATE SET
        requested = requested + 1, invited = invited + excluded.invited, joined = joined + excluded.joined;
END;

CREATE TRIGGER invite_funnel_on_delete AFTER DELETE ON invite_requests
BEGIN
    UPDATE invite_funnel_days SET
        requested = requested - 1,
        invited = invited - (OLD.status IN ('invited', 'already_invited', 'link_shown', 'joined')),
        joined = joined - (OLD.status = 'joined')
    WHERE community_id = OLD.community_id AND day = OLD.created_at / 86400;
END;
-- The audit log of one workspace, newest first.
CREATE INDEX audit_log_team_id ON audit_log (team_id, id);
