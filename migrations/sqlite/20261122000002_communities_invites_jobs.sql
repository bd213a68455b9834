-- Communities and their join forms, invite requests, the durable job queue and API keys.

CREATE TABLE communities (
    id                INTEGER PRIMARY KEY,
    slug              TEXT NOT NULL UNIQUE,
    installation_id   TEXT NOT NULL REFERENCES installations (id) ON DELETE CASCADE,
    team_id           TEXT NOT NULL,                       -- the workspace invites go to
    title             TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    invite_mode       TEXT NOT NULL CHECK (invite_mode IN ('admin_api', 'legacy', 'approval', 'link')),
    default_channels  TEXT NOT NULL DEFAULT '',            -- comma-separated channel ids
    invite_link       TEXT,                                -- sealed: the shared invite link
    legacy_token      TEXT,                                -- sealed: a legacy token for users.admin.invite
    coc_url           TEXT,
    coc_required      INTEGER NOT NULL DEFAULT 0,
    allowed_domains   TEXT NOT NULL DEFAULT '',            -- comma-separated; empty = any
    denied_domains    TEXT NOT NULL DEFAULT '',
    captcha_provider  TEXT CHECK (captcha_provider IN ('turnstile', 'hcaptcha')),
    captcha_site_key  TEXT,
    captcha_secret    TEXT,                                -- sealed
    admin_channel     TEXT,                                -- channel id for approval messages
    member_count      INTEGER,
    member_count_at   INTEGER,
    config_error      TEXT,                                -- a problem admins must fix (missing_scope, ...)
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;
CREATE INDEX communities_installation ON communities (installation_id);

CREATE TABLE invite_requests (
    id              INTEGER PRIMARY KEY,
    community_id    INTEGER NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    email           TEXT NOT NULL,                         -- normalized (lower-case domain)
    name            TEXT NOT NULL DEFAULT '',
    source          TEXT NOT NULL CHECK (source IN ('form', 'api', 'slack')),
    requested_by    TEXT,                                  -- Slack user id for /invite
    status          TEXT NOT NULL CHECK (status IN (
                        'pending', 'queued', 'invited', 'already_in_team', 'already_invited',
                        'joined', 'denied', 'failed', 'link_shown')),
    status_message  TEXT NOT NULL DEFAULT '',
    slack_error     TEXT,
    decided_by      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;
-- One open request per email per community.
CREATE UNIQUE INDEX invite_requests_one_open ON invite_requests (community_id, email)
    WHERE status IN ('pending', 'queued');
CREATE INDEX invite_requests_community_status ON invite_requests (community_id, status, id);
CREATE INDEX invite_requests_email ON invite_requests (email);

-- The durable job queue: every Slack call and all slow work run from here.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,                            -- JSON
    status       TEXT NOT NULL DEFAULT 'ready' CHECK (status IN ('ready', 'running', 'done', 'failed')),
    run_at       INTEGER NOT NULL,                         -- not before (Unix seconds)
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 12,
    claimed_by   TEXT,                                     -- the worker process holding it
    claimed_at   INTEGER,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX jobs_ready ON jobs (status, run_at, id);

CREATE TABLE job_attempts (
    id          INTEGER PRIMARY KEY,
    job_id      INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    outcome     TEXT,                                      -- done | retry | failed | released
    error       TEXT
) STRICT;
CREATE INDEX job_attempts_job ON job_attempts (job_id, attempt);

-- API keys for other systems (a CMS, CI jobs): only a hash is kept; shown once at creation.
CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY,
    team_id      TEXT NOT NULL REFERENCES installations (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL UNIQUE,                     -- the public part, to find the key
    secret_hash  BLOB NOT NULL,                            -- SHA-256 of the whole key
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
) STRICT;
