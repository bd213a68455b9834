-- Mail: confirmed addresses, invite links sent by mail, invite-link health and per-community limits.
-- PostgreSQL translation of migrations/sqlite/20261202000002_mail.sql: where SQLite rebuilds
-- invite_requests, PostgreSQL alters it in place; the resulting table, indexes and triggers are the same.

-- Per community: whether the address must be confirmed first (only while mail is configured), the
-- join form's limit per client per 30 minutes, and the shared link's health (when set, when Slack
-- expires it, how many times Lobby handed it out, and which warnings were given: 1 = uses, 2 = expiry).
ALTER TABLE communities ADD COLUMN confirm_addresses BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE communities ADD COLUMN signups_per_30_minutes BIGINT NOT NULL DEFAULT 5;
ALTER TABLE communities ADD COLUMN invite_link_set_at BIGINT;
ALTER TABLE communities ADD COLUMN invite_link_expires_at BIGINT;
ALTER TABLE communities ADD COLUMN invite_link_uses BIGINT NOT NULL DEFAULT 0;
ALTER TABLE communities ADD COLUMN invite_link_warned BIGINT NOT NULL DEFAULT 0;
-- Whether a declined person gets a polite mail (off unless an admin turns it on).
ALTER TABLE communities ADD COLUMN deny_mail BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE communities SET invite_link_set_at = updated_at WHERE invite_link IS NOT NULL;

-- invite_requests gains two statuses: `unconfirmed` (waiting for the person to confirm their
-- address) and `link_sent` (the shared invite link was mailed). PostgreSQL can replace the CHECK,
-- so the table keeps its rows and identity sequence; the new columns come last, as in SQLite's rebuild.
ALTER TABLE invite_requests DROP CONSTRAINT invite_requests_status_check;
ALTER TABLE invite_requests ADD CONSTRAINT invite_requests_status_check CHECK (status IN (
    'pending', 'queued', 'invited', 'already_in_team', 'already_invited',
    'joined', 'denied', 'failed', 'link_shown', 'unconfirmed', 'link_sent'));
ALTER TABLE invite_requests ADD COLUMN confirm_hash BYTEA;                    -- SHA-256 of the confirmation token
ALTER TABLE invite_requests ADD COLUMN confirm_expires_at BIGINT;
ALTER TABLE invite_requests ADD COLUMN confirmed_at BIGINT;
ALTER TABLE invite_requests ADD COLUMN too_fast BOOLEAN NOT NULL DEFAULT FALSE; -- sent before the minimum fill time

-- One open request per mailbox, compared case-insensitively (the address is kept as typed).
-- (invite_requests_community_status and invite_requests_community_id are unchanged and stay.)
DROP INDEX invite_requests_one_open;
CREATE UNIQUE INDEX invite_requests_one_open ON invite_requests (community_id, lower(email))
    WHERE status IN ('pending', 'queued', 'unconfirmed');
DROP INDEX invite_requests_email;
CREATE INDEX invite_requests_email ON invite_requests (lower(email));
CREATE UNIQUE INDEX invite_requests_confirm_hash ON invite_requests (confirm_hash) WHERE confirm_hash IS NOT NULL;
CREATE INDEX invite_requests_unconfirmed ON invite_requests (created_at) WHERE status = 'unconfirmed';

-- The funnel triggers learn the new status: `link_sent` counts as invited.
CREATE OR REPLACE FUNCTION invite_funnel_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO invite_funnel_days AS f (community_id, day, requested, invited, joined)
    VALUES (NEW.community_id, NEW.created_at / 86400, 1,
            (NEW.status IN ('invited', 'already_invited', 'link_shown', 'link_sent', 'joined'))::int,
            (NEW.status = 'joined')::int)
    ON CONFLICT (community_id, day) DO UPDATE SET
        requested = f.requested + 1, invited = f.invited + excluded.invited, joined = f.joined + excluded.joined;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION invite_funnel_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE invite_funnel_days SET
        requested = requested - 1,
        invited = invited - (OLD.status IN ('invited', 'already_invited', 'link_shown', 'link_sent', 'joined'))::int,
        joined = joined - (OLD.status = 'joined')::int
    WHERE community_id = OLD.community_id AND day = OLD.created_at / 86400;
    INSERT INTO invite_funnel_days AS f (community_id, day, requested, invited, joined)
    VALUES (NEW.community_id, NEW.created_at / 86400, 1,
            (NEW.status IN ('invited', 'already_invited', 'link_shown', 'link_sent', 'joined'))::int,
            (NEW.status = 'joined')::int)
    ON CONFLICT (community_id, day) DO UPDATE SET
        requested = f.requested + 1, invited = f.invited + excluded.invited, joined = f.joined + excluded.joined;
    RETURN NULL;
END;
$$;
-- The trigger's WHEN names the statuses too, so it is made again.
DROP TRIGGER invite_funnel_on_update ON invite_requests;
CREATE TRIGGER invite_funnel_on_update AFTER UPDATE OF status, community_id, created_at ON invite_requests
FOR EACH ROW
WHEN ((OLD.status IN ('invited', 'already_invited', 'link_shown', 'link_sent', 'joined'))
        != (NEW.status IN ('invited', 'already_invited', 'link_shown', 'link_sent', 'joined'))
  OR (OLD.status = 'joined') != (NEW.status = 'joined')
  OR OLD.community_id != NEW.community_id
  OR OLD.created_at / 86400 != NEW.created_at / 86400)
EXECUTE FUNCTION invite_funnel_on_update();

CREATE OR REPLACE FUNCTION invite_funnel_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE invite_funnel_days SET
        requested = requested - 1,
        invited = invited - (OLD.status IN ('invited', 'already_invited', 'link_shown', 'link_sent', 'joined'))::int,
        joined = joined - (OLD.status = 'joined')::int
    WHERE community_id = OLD.community_id AND day = OLD.created_at / 86400;
    RETURN NULL;
END;
$$;

-- Every mail Lobby sent or tried to send: what it was for and what the server answered. The
-- recipient and the body are not kept here (the body may hold a confirmation token).
CREATE TABLE mails (
    id           BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    community_id BIGINT REFERENCES communities (id) ON DELETE CASCADE,
    request_id   BIGINT,                                   -- the invite request it is about, if any
    purpose      TEXT NOT NULL,                            -- confirm | invite_link | admin_warning
    status       TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    message_id   TEXT,
    error        TEXT,                                     -- the server's last answer when not sent
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX mails_request ON mails (request_id);
CREATE INDEX mails_community ON mails (community_id, id);
