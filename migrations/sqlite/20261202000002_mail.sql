-- Mail: confirmed addresses, invite links sent by mail, invite-link health and per-community limits.

-- Per community: whether the address must be confirmed first (only while mail is configured), the
-- join form's limit per client per 30 minutes, and the shared link's health (when set, when Slack
-- expires it, how many times Lobby handed it out, and which warnings were given: 1 = uses, 2 = expiry).
ALTER TABLE communities ADD COLUMN confirm_addresses INTEGER NOT NULL DEFAULT 1;
ALTER TABLE communities ADD COLUMN signups_per_30_minutes INTEGER NOT NULL DEFAULT 5;
ALTER TABLE communities ADD COLUMN invite_link_set_at INTEGER;
ALTER TABLE communities ADD COLUMN invite_link_expires_at INTEGER;
ALTER TABLE communities ADD COLUMN invite_link_uses INTEGER NOT NULL DEFAULT 0;
ALTER TABLE communities ADD COLUMN invite_link_warned INTEGER NOT NULL DEFAULT 0;
-- Whether a declined person gets a polite mail (off unless an admin turns it on).
ALTER TABLE communities ADD COLUMN deny_mail INTEGER NOT NULL DEFAULT 0;
UPDATE communities SET invite_link_set_at = updated_at WHERE invite_link IS NOT NULL;

-- invite_requests gains two statuses (a CHECK cannot be altered in SQLite, so the table is rebuilt):
-- `unconfirmed` (waiting for the person to confirm their address) and `link_sent` (the shared
-- invite link was mailed). Nothing references invite_requests, so it can be dropped and renamed.
CREATE TABLE invite_requests_v2 (
    id                 INTEGER PRIMARY KEY,
    community_id       INTEGER NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    email              TEXT NOT NULL,
    name               TEXT NOT NULL DEFAULT '',
    source             TEXT NOT NULL CHECK (source IN ('form', 'api', 'slack')),
    requested_by       TEXT,
    status             TEXT NOT NULL CHECK (status IN (
                           'pending', 'queued', 'invited', 'already_in_team', 'already_invited',
                           'joined', 'denied', 'failed', 'link_shown', 'unconfirmed', 'link_sent')),
    status_message     TEXT NOT NULL DEFAULT '',
    slack_error        TEXT,
    decided_by         TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    confirm_hash       BLOB,                               -- SHA-256 of the confirmation token
    confirm_expires_at INTEGER,
    confirmed_at       INTEGER,
    too_fast           INTEGER NOT NULL DEFAULT 0          -- sent before the minimum fill time
) STRICT;
INSERT INTO invite_requests_v2 (id, community_id, email, name, source, requested_by, status, status_message,
    slack_error, decided_by, created_at, updated_at)
SELECT id, community_id, email, name, source, requested_by, status, status_message,
    slack_error, decided_by, created_at, updated_at FROM invite_requests;
DROP TABLE invite_requests;
ALTER TABLE invite_requests_v2 RENAME TO invite_requests;

-- One open request per mailbox, compared case-insensitively (the address is kept as typed).
CREATE UNIQUE INDEX invite_requests_one_open ON invite_requests (community_id, lower(email))
    WHERE status IN ('pending', 'queued', 'unconfirmed');
CREATE INDEX invite_requests_community_status ON invite_requests (community_id, status, id);
CREATE INDEX invite_requests_email ON invite_requests (lower(email));
CREATE INDEX invite_requests_community_id ON invite_requests (community_id, id);
CREATE UNIQUE INDEX invite_requests_confirm_hash ON invite_requests (confirm_hash) WHERE confirm_hash IS NOT NULL;
CREATE INDEX invite_requests_unconfirmed ON invite_requests (created_at) WHERE status = 'unconfirmed';

-- The funnel triggers went with the old table; `link_sent` counts as invited.
CREATE TRIGGER invite_funnel_on_insert AFTER INSERT ON invite_requests
BEGIN
    INSERT INTO invite_funnel_days (community_id, day, requested, invited, joined)
    VALUES (NEW.community_id, NEW.created_at / 86400, 1,
            NEW.status IN ('invited', 'already_invited', 'link_shown', 'link_sent', 'joined'), NEW.status = 'joined')
    ON CONFLICT (community_id, day) DO UPDATE SET
        requested = requested + 1, invited = invited + excluded.invited, joined = joined + excluded.joined;
END;

CREATE TRIGGER invite_funnel_on_update AFTER UPDATE OF status, community_id, created_at ON invite_requests
WHEN (OLD.status IN ('invited', 'already_invited', 'link_shown', 'link_sent', 'joined'))
        != (NEW.status IN ('invited', 'already_invited', 'link_shown', 'link_sent', 'joined'))
  OR (OLD.status = 'joined') != (NEW.status = 'joined')
  OR OLD.community_id != NEW.community_id
  OR OLD.created_at / 86400 != NEW.created_at / 86400
BEGIN
    UPDATE invite_funnel_days SET
        requested = requested - 1,
        invited = invited - (OLD.status IN ('invited', 'already_invited', 'link_shown', 'link_sent', 'joined')),
        joined = joined - (OLD.status = 'joined')
    WHERE community_id = OLD.community_id AND day = OLD.created_at / 86400;
    INSERT INTO invite_funnel_days (community_id, day, requested, invited, joined)
    VALUES (NEW.community_id, NEW.created_at / 86400, 1,
            NEW.status IN ('invited', 'already_invited', 'link_shown', 'link_sent', 'joined'), NEW.status = 'joined')
    ON CONFLICT (community_id, day) DO UPDATE SET
        requested = requested + 1, invited = invited + excluded.invited, joined = joined + excluded.joined;
END;

CREATE TRIGGER invite_funnel_on_delete AFTER DELETE ON invite_requests
BEGIN
    UPDATE invite_funnel_days SET
        requested = requested - 1,
        invited = invited - (OLD.status IN ('invited', 'already_invited', 'link_shown', 'link_sent', 'joined')),
        joined = joined - (OLD.status = 'joined')
    WHERE community_id = OLD.community_id AND day = OLD.created_at / 86400;
END;

-- Every mail Lobby sent or tried to send: what it was for and what the server answered. The
-- recipient and the body are not kept here (the body may hold a confirmation token).
CREATE TABLE mails (
    id           INTEGER PRIMARY KEY,
    community_id INTEGER REFERENCES communities (id) ON DELETE CASCADE,
    request_id   INTEGER,                                  -- the invite request it is about, if any
    purpose      TEXT NOT NULL,                            -- confirm | invite_link | admin_warning
    status       TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    message_id   TEXT,
    error        TEXT,                                     -- the server's last answer when not sent
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX mails_request ON mails (request_id);
CREATE INDEX mails_community ON mails (community_id, id);
